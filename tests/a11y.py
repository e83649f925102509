"""An offline, axe-like smoke check of one HTML page, WCAG contrast arithmetic, and the
text of a page that nothing isolates from the text around it.

Used by tests/render/test_html.py, tests/render/test_html_text.py, tests/routes/test_site.py,
tests/routes/test_sparql_page.py and tests/test_browser.py.
"""

from __future__ import annotations

import re
from typing import Any

import html5lib

NS = "{http://www.w3.org/1999/xhtml}"
#: text with a direction of its own: Hebrew to Arabic letters and the bidi controls
DIRECTIONAL = re.compile("[\u0590-\u08ff\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def parse_strict(text: str) -> Any:
    """Parse with html5lib's strict parser: any parse error fails (valid HTML5 syntax)."""
    return html5lib.HTMLParser(strict=True, namespaceHTMLElements=True).parse(text)


def check_page(text: str) -> Any:
    """lang, one h1, landmarks, alt on images, labelled form fields, unique ids."""
    doc = parse_strict(text)
    root = doc.getroot() if hasattr(doc, "getroot") else doc
    assert root.get("lang") in ("sv", "en")
    assert len(root.findall(f".//{NS}h1")) == 1
    for landmark in ("header", "nav", "main", "footer"):
        assert root.findall(f".//{NS}{landmark}"), f"no <{landmark}>"
    assert root.find(f".//{NS}title").text.strip()
    for img in root.iter(f"{NS}img"):
        assert img.get("alt") is not None
    labels = {label.get("for") for label in root.iter(f"{NS}label")}
    for tag in ("input", "select", "textarea"):
        for field in root.iter(f"{NS}{tag}"):
            if field.get("type") in ("hidden", "submit", "button"):
                continue
            assert field.get("id") in labels or field.get("aria-label") \
                or field.get("aria-labelledby"), f"unlabelled <{tag}>"
    ids = [el.get("id") for el in root.iter() if el.get("id")]
    assert len(ids) == len(set(ids)), "duplicate ids"
    for link in root.iter(f"{NS}a"):
        assert "".join(link.itertext()).strip(), "a link without text"
    return root


def luminance(hex_colour: str) -> float:
    value = hex_colour.lstrip("#")
    if len(value) == 3:
        value = "".join(c * 2 for c in value)
    channels = [int(value[i:i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def custom_properties(css: str) -> dict[str, str]:
    root = re.search(r":root\s*\{(.*?)\}", css, re.S)
    assert root is not None
    return dict(re.findall(r"--([\w-]+)\s*:\s*(#[0-9a-fA-F]{3,6})\s*;", root.group(1)))


def unisolated(root: Any) -> list[str]:
    """The text shown in the page's body that has a direction of its own (right-to-left
    letters, bidi controls) but no <bdi> or dir="auto" element around it, so that it can
    reorder the text after it. Raw text (<textarea>, <template>, <script>) is not looked at."""
    found: list[str] = []

    def walk(element: Any, isolated: bool) -> None:
        if element.tag in (f"{NS}head", f"{NS}textarea", f"{NS}template", f"{NS}script"):
            return
        isolated = isolated or element.tag == f"{NS}bdi" or element.get("dir") == "auto"
        for text in [element.text, *(child.tail for child in element)]:
            if text and not isolated and DIRECTIONAL.search(text):
                found.append(text)
        for child in element:
            walk(child, isolated)

    walk(root, False)
    return found
