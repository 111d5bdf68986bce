"""The local Alipay gateway's test controls (its /_control/ API, described
in the docstring of test/fakes/alipay_gateway.py): one client for every test."""
import os

import requests

from support.env import ALIPAY_DIR, GATEWAY


class Gateway:
    """gateway.mode(down=True), gateway.pay("ORDER_1", notify=False),
    gateway.notify("ORDER_1", total_amount="1.00", sign="bad"),
    gateway.trades(), gateway.trade("ORDER_1"), gateway.reset()."""

    def __init__(self, base=GATEWAY):
        self.base = base

    def call(self, path, obj=None, expect=200):
        """GET /_control/<path>, or POST obj as JSON; the JSON answer."""
        if obj is None:
            r = requests.get(self.base + "/_control/" + path, timeout=30)
        else:
            r = requests.post(self.base + "/_control/" + path, json=obj, timeout=30)
        assert r.status_code == expect, (path, r.status_code, r.text)
        return r.json()

    def mode(self, **change):
        return self.call("mode", change)

    def pay(self, out_trade_no, **kw):
        return self.call("pay", dict(kw, out_trade_no=out_trade_no))

    def notify(self, out_trade_no, **fields):
        return self.call("notify", dict(fields, out_trade_no=out_trade_no))

    def trades(self):
        return self.call("trades")["trades"]

    def trade(self, out_trade_no):
        found = [t for t in self.trades() if t["out_trade_no"] == out_trade_no]
        return found[0] if found else None

    def reset(self):
        return self.call("reset", {})

    def app_id(self):
        with open(os.path.join(ALIPAY_DIR, "app_id")) as f:
            return f.read().strip()
