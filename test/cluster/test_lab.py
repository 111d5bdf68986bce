"""The lab itself: every host and service lab.json names is there and
answers, and the storefront works through the shop's URL from this
machine (pages, static files, API, register -> login -> address -> cart
-> order), the order on every Galera node."""
import os
import subprocess
import uuid

import requests

KINDS = {"redis", "sentinel", "galera", "uwsgi", "nginx"}


def test_lab_json_names_every_host_and_service(lab):
    hosts = lab.hosts
    assert {"data1", "data2", "data3", "web", "client"} <= set(hosts)
    assert len([h for h in hosts if h.startswith("app")]) >= 2
    ns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True).stdout
    seen = set()
    for host, spec in hosts.items():
        assert spec["namespace"] in ns, host
        assert spec["address"].startswith(lab.spec["subnet"].rsplit(".", 1)[0] + "."), host
        for svc in spec["services"]:
            assert svc["kind"] in KINDS and svc["port"] > 0, svc
            assert lab.alive(host, svc["kind"]), f"{svc['kind']} on {host}: {svc['pidfile']}"
            seen.add(svc["kind"])
            # each service listens on its host's address, inside its namespace
            r = subprocess.run(["ip", "netns", "exec", spec["namespace"], "bash", "-c",
                                f"exec 3<>/dev/tcp/{spec['address']}/{svc['port']}"], capture_output=True, timeout=10)
            assert r.returncode == 0, f"{svc['kind']} on {host} does not listen on {spec['address']}:{svc['port']}"
    assert seen == KINDS
    for host in lab.hosts_with("galera"):
        assert lab.galera_synced(host, 3), host
    assert lab.redis_replicas_online() == 2
    st = lab.galera_status("data1")
    print(f"\nlab: {len(hosts)} hosts, Galera cluster of {st['wsrep_cluster_size']}, "
          f"Redis master on {lab.redis_master_host()} with {lab.redis_replicas_online()} replicas")


def test_redis_and_galera_settings_of_the_lab(lab):
    for host in lab.hosts_with("redis"):
        assert lab.redis(host, "CONFIG", "GET", "min-replicas-to-write").split() == ["min-replicas-to-write", "1"]
        assert lab.redis(host, "CONFIG", "GET", "min-replicas-max-lag").split() == ["min-replicas-max-lag", "2"]
        assert lab.redis(host, "CONFIG", "GET", "appendonly").split() == ["appendonly", "yes"]
        assert lab.redis(host, "CONFIG", "GET", "appendfsync").split() == ["appendfsync", "always"]
    for host in lab.hosts_with("galera"):
        assert lab.sql(host, "SELECT @@innodb_flush_log_at_trx_commit") == [["1"]], host
        opts = lab.sql(host, "SELECT @@wsrep_provider_options")[0][0]
        assert "evs.suspect_timeout = PT1S" in opts, opts


def test_storefront_through_the_shop_url(lab):
    url = lab.url
    r = requests.get(url + "/", timeout=10)
    assert r.status_code == 200 and "<html" in r.text.lower()
    r = requests.get(url + "/healthz", timeout=10)
    assert r.status_code == 200 and r.json() == {"redis": "ok", "mysql": "ok"}
    r = requests.get(url + "/api/goods/types", timeout=10)
    assert r.status_code == 200 and len(r.json()["types"]) > 0
    css = sorted(os.listdir(os.path.join(os.path.dirname(__file__), "..", "..", "static", "css")))[0]
    r = requests.get(f"{url}/static/css/{css}", timeout=10)
    assert r.status_code == 200 and r.content

    sku = lab.skus(1, stock=10)[0]
    s = requests.Session()
    s.get(url + "/healthz", timeout=10)

    def post(path, data):
        # the token the shop set last (login sets a new one)
        return s.post(url + path, data=data, headers={"X-CSRFToken": s.cookies["csrftoken"]}, timeout=30)
    name = "lab" + uuid.uuid4().hex[:12]
    r = post("/user/register", {"user_name": name, "pwd": "fresh-Pass123", "cpwd": "fresh-Pass123",
                                             "email": "lab@example.com", "allow": "on"})
    assert r.json()["res"] == 8, r.text
    r = post("/user/login", {"username": name, "pwd": "fresh-Pass123"})
    assert r.json()["res"] == 5, r.text
    r = post("/user/address", {"receiver": "实验", "addr": "lab street 1", "zip_code": "100000",
                                            "phone": "13800000000"})
    assert r.status_code == 200 and r.json()["res"] == 5, (r.status_code, r.text)
    addr = r.json()["address"]["id"]
    r = post("/cart/add", {"sku_id": sku, "count": 2})
    assert r.json()["res"] == 5 and r.json()["total_count"] == 2, r.text
    r = post("/order/commit", {"addr_id": addr, "pay_method": 3, "sku_ids": sku})
    assert r.json()["res"] == 5, r.text
    order_id = r.json()["order_id"]
    for host in lab.hosts_with("galera"):
        rows = lab.sql(host, f"SELECT total_count FROM df_order_info WHERE order_id = '{order_id}'")
        assert rows == [["2"]], host
        assert lab.sku_state(host, sku) == (8, 2), host
