"""deploy/nginx/publisher-export.conf: nginx serving `publisher export` negotiates like the app
(303 for things, Turtle by default, HTML for browsers, suffixes, 406), with the bytes the
export wrote. Needs Debian's nginx; skipped without it."""

from __future__ import annotations

import os
import shutil
import string
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from publisher import cli
from tests.conftest import ROOT, free_port

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(NGINX is None, reason="nginx is not installed")]
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    root = tmp_path_factory.mktemp("export") / "site"
    assert cli.main(["export", str(root)]) == 0
    folder = tmp_path_factory.mktemp("nginx")
    (folder / "tmp").mkdir()
    port = free_port()
    conf = (ROOT / "deploy" / "nginx" / "publisher-export.conf").read_text()
    assert "root /srv/publisher;" in conf and "listen 8080;" in conf
    conf = conf.replace("root /srv/publisher;", f"root {root};")
    conf = conf.replace("listen 8080;", f"listen 127.0.0.1:{port};")
    (folder / "site.conf").write_text(conf)
    # as root, nginx's workers would run as nobody, who cannot read pytest's private tmp dirs
    user = "user root;\n" if os.geteuid() == 0 else ""
    main = string.Template((ROOT / "deploy" / "nginx" / "local-main.conf").read_text())
    (folder / "nginx.conf").write_text(main.substitute(dir=folder, user=user, connections=64))
    with open(folder / "out.log", "wb") as log:
        process = subprocess.Popen([str(NGINX), "-c", str(folder / "nginx.conf"), "-p",
                                    str(folder)], stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            httpx.get(base + "/", timeout=1)
            break
        except httpx.TransportError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("nginx did not start: "
                                   + (folder / "out.log").read_text()) from None
            time.sleep(0.05)
    yield base, root
    process.terminate()
    process.wait(10)


@pytest.mark.parametrize(("accept", "suffix", "media_type"), [
    (None, "ttl", "text/turtle"),
    ("*/*", "ttl", "text/turtle"),
    ("text/turtle", "ttl", "text/turtle"),
    ("application/ld+json", "jsonld", "application/ld+json"),
    ("application/rdf+xml", "rdf", "application/rdf+xml"),
    ("application/n-triples", "nt", "application/n-triples"),
    (BROWSER, "html", "text/html"),
    ("text/turtle;q=1.0, application/ld+json;q=0.5", "ttl", "text/turtle"),
])
def test_documents_are_negotiated(site: tuple[str, Path], accept: str | None, suffix: str,
                                  media_type: str) -> None:
    base, root = site
    headers = {"Accept": accept} if accept else {}
    answer = httpx.get(base + "/doc/place/tartu", headers=headers)
    assert answer.status_code == 200
    assert answer.headers["content-type"].split(";")[0] == media_type
    assert "utf-8" in answer.headers["content-type"]
    assert answer.headers["vary"] == "Accept"
    assert answer.headers["access-control-allow-origin"] == "*"
    assert answer.content == (root / "doc" / "place" / f"tartu.{suffix}").read_bytes()


def test_things_suffixes_and_refusals(site: tuple[str, Path]) -> None:
    base, root = site
    thing = httpx.get(base + "/id/place/tartu")
    assert thing.status_code == 303 and thing.headers["location"] == "/doc/place/tartu"
    jsonld = httpx.get(base + "/doc/place/tartu.jsonld", headers={"Accept": "text/turtle"})
    assert jsonld.headers["content-type"].startswith("application/ld+json")
    assert jsonld.content == (root / "doc" / "place" / "tartu.jsonld").read_bytes()
    assert httpx.get(base + "/doc/place/tartu", headers={"Accept": "image/png"}).status_code \
        == 406
    assert httpx.get(base + "/doc/place/nowhere").status_code == 404
    assert httpx.get(base + "/datasets/dcat").headers["content-type"].startswith(
        "application/rdf+xml")
    assert httpx.get(base + "/catalog", headers={"Accept": "application/rdf+xml"}).content \
        == (root / "catalog.rdf").read_bytes()
    assert httpx.get(base + "/.well-known/void").headers["content-type"].startswith(
        "text/turtle")
    assert httpx.get(base + "/", headers={"Accept": BROWSER}).content \
        == (root / "index.html").read_bytes()
    assert (root / ".publisher-export.json").is_file()  # for the next export, not the web
    assert httpx.get(base + "/.publisher-export.json").status_code == 404
