"""A commit whose worker is killed inside its transaction leaves its cart
lines claimed; the mule's sweep gives them back once the claim is older than
dailyfresh-order-claim-age, as no order of it exists. (Marked destructive, so
run last: it kills every worker of the stack.)"""
import concurrent.futures
import os
import signal
import subprocess
import time

import pytest

from support.backends import sql
from support.env import MYSQL_SOCK, UWSGI_PORTS
from support.orders import buyer, cart_hash, orders_of, put_cart, sku_state, skus
from support.stack import uwsgi_options, wait_healthy
from support.uwsgi import workers
from test_order_claims import claims_of, wait_until

pytestmark = pytest.mark.destructive


def test_commit_killed_mid_transaction_gets_its_lines_back():
    with uwsgi_options("--dailyfresh-order-expire-interval", "1", "--dailyfresh-order-claim-age", "3"):
        c, uid, addr = buyer()
        (sku,) = skus(1, stock=10)
        (other,) = skus(1)
        put_cart(uid, {sku: 2, other: 1})
        # another session holds the SKU row, the commit waits for it inside
        # its transaction, and every worker is killed meanwhile
        holder = subprocess.Popen(["mariadb", "--no-defaults", f"--socket={MYSQL_SOCK}", "-uroot", "dailyfresh"],
                                  stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                  text=True)
        try:
            holder.stdin.write(f"BEGIN; SELECT stock FROM df_goods_sku WHERE id = {int(sku)} FOR UPDATE;\n")
            holder.stdin.flush()
            time.sleep(0.3)
            with concurrent.futures.ThreadPoolExecutor(1) as pool:
                pending = pool.submit(lambda: c.post_form("/order/commit", {"addr_id": addr, "pay_method": 3,
                                                                            "sku_ids": str(sku)}))
                wait_until(lambda: sql("SELECT COUNT(*) FROM information_schema.INNODB_TRX"
                                       " WHERE trx_state = 'LOCK WAIT'") != [["0"]], 10,
                           "the commit did not wait for the row")
                assert len(claims_of(uid)) == 1 and str(sku) not in cart_hash(uid)
                for port in UWSGI_PORTS:
                    for pid in workers(port):
                        os.kill(pid, signal.SIGKILL)
                answer = pending.result(timeout=30)
            assert answer.status_code >= 500  # the request died with its worker
        finally:
            holder.stdin.close()
            holder.wait(timeout=30)
        wait_healthy()
        wait_until(lambda: claims_of(uid) == [], 20, "the killed commit's claim was not settled")
        assert cart_hash(uid) == {str(sku): "2", str(other): "1"}
        assert orders_of(uid) == [] and sku_state(sku) == (10, 0)
