"""Creates N logged-in buyers for the order benchmarks, in bulk: the users
and their addresses in two SQL statements, the sessions and carts in one
redis-cli pipe. Buyer i gets `count` units of SKU first_sku + (i % skus) in
its cart, and its address set (user_addrs_<uid>) as its address list read
fills it. Prints one "sessionid csrftoken addr_id sku_id" line per buyer.

  python3 bench/buyers.py MYSQL_SOCK REDIS_SOCK TAG N SKUS FIRST_SKU [COUNT]
"""
import secrets
import subprocess
import sys


def sql(sock, statement):
    out = subprocess.run(["mariadb", "--no-defaults", f"--socket={sock}", "-uroot", "-N", "-B", "dailyfresh",
                          "-e", statement], check=True, capture_output=True, text=True, timeout=120)
    return [line.split("\t") for line in out.stdout.splitlines()]


def make_buyers(mysql_sock, redis_sock, tag, n, skus, first_sku, count=1):
    """Returns one (sessionid, csrftoken, addr_id, sku_id, user_id) per buyer."""
    if not tag.isalnum():
        raise ValueError("buyers: TAG must be letters and digits")
    # the names carry the tag, so one database can hold several runs' buyers
    sql(mysql_sock,
        "INSERT INTO df_user (password, username, email, is_active, is_staff, is_superuser, first_name, last_name,"
        " date_joined, create_time, update_time) "
        f"SELECT 'x', CONCAT('b{tag}_', seq), CONCAT('b{tag}_', seq, '@localhost'), 1, 0, 0, '', '',"
        f" NOW(6), NOW(6), NOW(6) FROM seq_1_to_{n};"
        "INSERT INTO df_address (receiver, addr, zip_code, phone, is_default, user_id, create_time, update_time,"
        " is_delete) "
        f"SELECT 'bench', 'bench street', '100000', '13800000000', 1, id, NOW(6), NOW(6), 0 FROM df_user"
        f" WHERE username LIKE 'b{tag}\\_%'")
    rows = sql(mysql_sock, f"SELECT u.id, a.id FROM df_user u JOIN df_address a ON a.user_id = u.id "
                           f"WHERE u.username LIKE 'b{tag}\\_%' ORDER BY u.id")
    if len(rows) != n:
        raise RuntimeError(f"buyers: expected {n} buyers, found {len(rows)}")
    commands, buyers = [], []
    for i, (uid, addr) in enumerate(rows):
        sid, csrf = secrets.token_hex(16), secrets.token_hex(16)
        sku = first_sku + i % skus
        commands.append(f"SET session_{sid} {uid} EX 7200")
        commands.append(f"HSET cart_{uid} {sku} {count}")
        # as the address list fills it when a buyer opens the flash sale's page
        commands.append(f"SADD user_addrs_{uid} 0 {addr}")
        commands.append(f"EXPIRE user_addrs_{uid} 7200")
        buyers.append((sid, csrf, addr, str(sku), uid))
    subprocess.run(["redis-cli", "-s", redis_sock], input="\n".join(commands) + "\n", check=True,
                   capture_output=True, text=True, timeout=120)
    return buyers


def main():
    mysql_sock, redis_sock, tag, n, skus, first_sku = sys.argv[1:7]
    count = int(sys.argv[7]) if len(sys.argv) > 7 else 1
    try:
        buyers = make_buyers(mysql_sock, redis_sock, tag, int(n), int(skus), int(first_sku), count)
    except (ValueError, RuntimeError) as e:
        sys.exit(str(e))
    print("\n".join(" ".join(b[:4]) for b in buyers))


if __name__ == "__main__":
    main()
