"""Rendering: RDF serializations (rdf.py) and HTML pages (html.py with templates/)."""
