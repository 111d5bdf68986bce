"""The stack's servers run at durable settings: MariaDB flushes its log on
every commit (and would sync a binlog), Redis appends every write to its
AOF and fsyncs it before it answers (a flash order is acknowledged from
Redis alone). A regression to settings that trade data for speed fails
here."""
from support.backends import redis, sql


def variable(name):
    rows = sql("SHOW GLOBAL VARIABLES WHERE Variable_name = @p0", name)
    assert rows, name
    return rows[0][1]


def test_mariadb_flushes_on_every_commit():
    assert variable("innodb_flush_log_at_trx_commit") == "1"
    assert variable("sync_binlog") == "1"


def test_redis_appends_every_write_and_fsyncs_it_before_answering():
    assert redis("CONFIG", "GET", "appendonly").split("\n")[1] == "yes"
    assert redis("CONFIG", "GET", "appendfsync").split("\n")[1] == "always"
    # the AOF is really being written, not only configured
    info = redis("INFO", "persistence")
    assert "aof_enabled:1" in info
    assert "aof_last_write_status:ok" in info
