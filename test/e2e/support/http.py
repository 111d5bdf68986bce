"""A browser-like client of the shop: gets a csrftoken first and echoes it
in X-CSRFToken on its POSTs, as the pages do."""
import uuid

import requests

from support.env import BASE


class Client(requests.Session):
    """A browser-like client: gets a csrftoken first, echoes it on POSTs."""

    def __init__(self, base=BASE):
        super().__init__()
        self.base = base

    def url(self, path):
        return self.base + path

    def csrf(self):
        token = self.cookies.get("csrftoken")
        if not token:
            self.get(self.url("/healthz"), timeout=10)
            token = self.cookies.get("csrftoken")
        return token

    def get_json(self, path, **kw):
        kw.setdefault("timeout", 10)
        return self.get(self.url(path), **kw)

    def post_form(self, path, data=None, csrf=True, **kw):
        kw.setdefault("timeout", 30)
        headers = kw.pop("headers", {})
        if csrf:
            headers["X-CSRFToken"] = self.csrf()
        return self.post(self.url(path), data=data, headers=headers, **kw)

    def post_json(self, path, obj, csrf=True, **kw):
        kw.setdefault("timeout", 30)
        headers = kw.pop("headers", {})
        if csrf:
            headers["X-CSRFToken"] = self.csrf()
        return self.post(self.url(path), json=obj, headers=headers, **kw)


def unique_name(prefix="u"):
    return (prefix + uuid.uuid4().hex)[:20]
