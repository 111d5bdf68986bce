"""The foundation through nginx: health, routing, request parsing, CSRF,
response format, load balancing over both instances."""
import socket
import time

import requests

from support import uwsgi
from support.env import BASE, UWSGI_PORTS
from support.http import Client

JSON_CT = "application/json; charset=utf-8"


def test_healthz_ok_through_nginx(client):
    r = client.get_json("/healthz")
    assert r.status_code == 200
    assert r.headers["Content-Type"] == JSON_CT
    assert r.json() == {"redis": "ok", "mysql": "ok"}


def test_unknown_route_is_json_404(client):
    r = client.get_json("/no/such/thing")
    assert r.status_code == 404
    assert r.headers["Content-Type"] == JSON_CT
    assert r.json() == {"error": "not found"}


def test_wrong_method_is_json_405(client):
    r = client.post_form("/healthz", {})
    assert r.status_code == 405
    assert r.json() == {"error": "method not allowed"}
    r = client.request("DELETE", client.url("/healthz"), timeout=10)
    assert r.status_code == 405


def test_head_answers_like_get(client):
    r = client.head(client.url("/healthz"), timeout=10)
    assert r.status_code == 200
    assert r.text == ""


def test_csrftoken_cookie_set_on_get_when_missing(client):
    r = client.get_json("/healthz")
    cookie = r.headers.get("Set-Cookie", "")
    assert cookie.startswith("csrftoken=")
    assert "Path=/" in cookie and "SameSite=Lax" in cookie and "HttpOnly" not in cookie
    token = client.cookies.get("csrftoken")
    assert len(token) == 32 and token.isalnum()
    # a client that has one is not given another
    r = client.get_json("/healthz")
    assert "Set-Cookie" not in r.headers


def test_request_log_line_per_request(client):
    marker = "/healthz?logmarker=%d" % time.time_ns()
    client.get_json(marker)
    time.sleep(0.3)
    line = next(l for l in uwsgi.logs().splitlines() if marker in l)
    parts = line.split()
    assert parts[0] == "GET" and parts[2] == "200"
    assert parts[3].endswith("us") and int(parts[3][:-2]) >= 0


def test_requests_spread_over_both_instances():
    """Each instance logs its own requests: both must have served some."""
    markers = []
    for i in range(40):
        m = "/healthz?spread=%d-%d" % (time.time_ns(), i)
        markers.append(m)
        # a fresh connection each time so nginx picks an upstream each time
        requests.get(BASE + m, timeout=10)
    time.sleep(0.3)
    served = {}
    for port in UWSGI_PORTS:
        text = uwsgi.log(port)
        served[port] = sum(1 for m in markers if m in text)
    assert sum(served.values()) == 40
    assert all(n > 0 for n in served.values()), served


def test_big_cookie_header_is_served():
    """8 KB of cookies must not knock an instance out of the upstream."""
    cookies = {"c%d" % i: "x" * 500 for i in range(16)}
    for _ in range(4):
        r = requests.get(BASE + "/healthz", cookies=cookies, timeout=10)
        assert r.status_code == 200
    assert requests.get(BASE + "/healthz", timeout=10).status_code == 200


def test_malformed_bodies_are_400(client):
    r = client.post(client.url("/cart/add"), data=b'{"sku_id": ', timeout=10,
                    headers={"Content-Type": "application/json", "X-CSRFToken": client.csrf()})
    assert r.status_code == 400
    assert r.json() == {"error": "unreadable request body"}
    r = client.post(client.url("/cart/add"), data=b"sku_id=%ff%fe", timeout=10,
                    headers={"Content-Type": "application/x-www-form-urlencoded", "X-CSRFToken": client.csrf()})
    assert r.status_code == 400
    r = client.post(client.url("/cart/add"), data=b"--x\r\n", timeout=10,
                    headers={"Content-Type": "multipart/form-data; boundary=x", "X-CSRFToken": client.csrf()})
    assert r.status_code == 400
    assert r.json() == {"error": "unsupported content type"}


def test_csrf_is_required_on_posts(client):
    r = client.post_form("/cart/add", {"sku_id": 1, "count": 1}, csrf=False)
    assert r.status_code == 403
    assert r.json() == {"error": "CSRF verification failed"}
    r = client.post_form("/cart/add", {"sku_id": 1, "count": 1}, csrf=False,
                         headers={"X-CSRFToken": "x" * 32})
    assert r.status_code == 403
    # the form field works as well as the header
    r = client.post_form("/cart/add", {"sku_id": 1, "count": 1, "csrfmiddlewaretoken": client.csrf()},
                         csrf=False)
    assert r.status_code == 200 and r.json()["res"] == 0


def test_body_too_large_is_json_413(client):
    # nginx refuses past 1 MiB, in the API's form
    r = client.post_form("/cart/add", {"sku_id": "1" * (1536 * 1024)})
    assert r.status_code == 413
    assert r.headers["Content-Type"] == JSON_CT
    assert r.json() == {"error": "request body too large"}


def test_body_too_large_never_reaches_an_instance(client):
    """nginx itself refuses a body past 1 MiB: no instance reads, logs or
    answers it (the plugin's own limit is only the second line)."""
    big = "/cart/add?toolarge=%d" % time.time_ns()
    r = client.post_form(big, {"sku_id": "1" * (1536 * 1024)})
    assert r.status_code == 413 and r.json() == {"error": "request body too large"}
    # a request after it, on every instance, shows the logs are written
    probes = ["/healthz?afterlarge=%d-%d" % (time.time_ns(), i) for i in range(2 * len(UWSGI_PORTS))]
    for p in probes:
        requests.get(BASE + p, timeout=10)
    deadline = time.monotonic() + 5
    while not all(p in uwsgi.logs() for p in probes) and time.monotonic() < deadline:
        time.sleep(0.1)
    logs = uwsgi.logs()
    assert all(p in logs for p in probes), "the instances did not log the requests after it"
    assert big not in logs, "the too large body reached an instance"


def test_refused_request_with_a_body_is_answered_cleanly(client):
    """An unknown route or wrong method still reads the body nginx is
    sending, so the client sees the 404/405 and not a gateway error."""
    body = {"x": "y" * (900 * 1024)}
    r = client.post_form("/no/such/route", body)
    assert r.status_code == 404 and r.json() == {"error": "not found"}
    r = client.post_form("/healthz", body)
    assert r.status_code == 405 and r.json() == {"error": "method not allowed"}
