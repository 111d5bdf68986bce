"""The flash sale's page, /flash/<sale_id>: nginx serves static/pages/flash.html
for any sale id without asking an instance (the page's script reads the
sale through /api/flash/<id>), and answers other paths under /flash/ and
other methods in the API's JSON form. What the page shows is tested in a
browser (test/browser/run.js, the flash tests)."""
import os

import pytest
import requests

from support.env import BASE, ROOT

PAGE = os.path.join(ROOT, "static", "pages", "flash.html")


@pytest.mark.parametrize("path", ["/flash/1", "/flash/12/", "/flash/2000000000", "/flash/99999999999999999999"])
def test_the_page_for_any_sale_id(path):
    r = requests.get(BASE + path, timeout=10)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("text/html")
    with open(PAGE, "rb") as f:
        assert r.content == f.read()
    assert r.headers["X-Frame-Options"] == "DENY"
    head = requests.head(BASE + path, timeout=10)
    assert head.status_code == 200 and head.headers["Content-Type"].startswith("text/html")


@pytest.mark.parametrize("path", ["/flash/", "/flash", "/flash/abc", "/flash/12/x", "/flash/-1", "/flash/1.5",
                                  "/flash/12/buy"])
def test_a_path_that_is_not_a_sale_is_not_found(path):
    r = requests.get(BASE + path, timeout=10)
    assert r.status_code == 404
    assert r.json() == {"error": "not found"}
    assert r.headers["Content-Type"] == "application/json; charset=utf-8"


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
def test_other_methods_on_the_page_are_refused(method):
    r = requests.request(method, BASE + "/flash/12", data=b"sale_id=12", timeout=10)
    assert r.status_code == 405
    assert r.json() == {"error": "method not allowed"}
