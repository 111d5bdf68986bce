"""How many exchanges with MariaDB one POST /order/commit of one SKU costs in
the default (guarded) locking mode, counted by the server itself: every
statement a client sends (Questions: START TRANSACTION, each execute,
COMMIT), every prepare, statement reset and ping. Each exchange waits for
the network once, so on a link with latency the count is what an order
costs (docs/orders.md, "Round trips").

The stack is otherwise idle, but the mule's sweeps also query MariaDB now
and then: each commit is counted on its own, several in a row, and the
fewest is the commit's cost (a sweep only adds). The first commits also
open and prepare on connections the pool has not used yet: the warm-up
commits before the counted ones, and the minimum, leave those out."""
from support.backends import sql
from support.orders import buyer, commit, put_cart, skus

COUNTERS = ("Questions", "Com_stmt_prepare", "Com_stmt_reset", "Com_admin_commands")
WARM_UP = 6
COUNTED = 8
MAX_WITH_KEY = 7
MAX_WITHOUT_KEY = 6


def exchanges():
    """Sum of COUNTERS, server-wide."""
    rows = sql("SELECT SUM(VARIABLE_VALUE) FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME IN "
               "('QUESTIONS', 'COM_STMT_PREPARE', 'COM_STMT_RESET', 'COM_ADMIN_COMMANDS')")
    return int(rows[0][0])


def own_cost():
    """What reading the counters adds by itself (the reading session's own
    statements): the fewest between two readings in a row."""
    costs = []
    for _ in range(3):
        a = exchanges()
        costs.append(exchanges() - a)
    return min(costs)


def one_commit(c, uid, addr, sku, key):
    put_cart(uid, {sku: 1})
    headers = {"Idempotency-Key": key} if key else {}
    before = exchanges()
    done = commit(c, addr, [sku], headers=headers)
    after = exchanges()
    assert done["res"] == 5 and "replayed" not in done, done
    return after - before


def fewest_exchanges(with_key):
    c, uid, addr = buyer()
    (sku,) = skus(stock=1000)
    overhead = own_cost()
    counts = []
    for i in range(WARM_UP + COUNTED):
        key = f"rt-{uid}-{i}" if with_key else None
        n = one_commit(c, uid, addr, sku, key) - overhead
        if i >= WARM_UP:
            counts.append(n)
        # the cap on unpaid orders stays out of the way: each is paid
        sql("UPDATE df_order_info SET order_status = 4 WHERE user_id = @p0", uid)
    return min(counts), counts


def test_one_sku_guarded_commit_with_idempotency_key_takes_at_most_7_exchanges():
    fewest, counts = fewest_exchanges(with_key=True)
    assert fewest <= MAX_WITH_KEY, counts


def test_one_sku_guarded_commit_without_key_takes_at_most_6_exchanges():
    fewest, counts = fewest_exchanges(with_key=False)
    assert fewest <= MAX_WITHOUT_KEY, counts
