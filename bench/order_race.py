"""N buyers press "commit" at the same moment.

Every buyer gets its own connection to nginx, opened and idle before the
start; then all requests are written at once and the answers collected.
The wall time runs from the release to the last answer, so connection set-up
and the client's own start are not counted. Prints one JSON object.

  python3 bench/order_race.py BASE_URL BUYERS_FILE BODY

BUYERS_FILE: one "sessionid csrftoken" pair a line. BODY: the form body
(e.g. "addr_id=1&pay_method=1&sku_ids=1"; "{addr}" is replaced by the
buyer's address id when the line has a third field).
"""
import asyncio
import json
import sys
import time
from urllib.parse import urlsplit


async def one(host, port, request, opened, release):
    reader, writer = await asyncio.open_connection(host, port)
    opened.release()
    await release.wait()
    t0 = time.perf_counter()
    writer.write(request)
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    body = await reader.readexactly(length)
    t1 = time.perf_counter()
    writer.close()
    return status, body, t0, t1


async def race(base, buyers, body_tpl):
    u = urlsplit(base)
    host, port = u.hostname, u.port or 80
    requests = []
    for b in buyers:
        body = body_tpl.replace("{addr}", b[2] if len(b) > 2 else "").encode()
        requests.append((
            f"POST /order/commit HTTP/1.1\r\nHost: {host}:{port}\r\n"
            f"Cookie: sessionid={b[0]}; csrftoken={b[1]}\r\nX-CSRFToken: {b[1]}\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode() + body)
    opened = asyncio.Semaphore(0)
    release = asyncio.Event()
    tasks = [asyncio.create_task(one(host, port, r, opened, release)) for r in requests]
    for _ in tasks:
        await asyncio.wait_for(opened.acquire(), 30)
    start = time.perf_counter()
    release.set()
    results = await asyncio.wait_for(asyncio.gather(*tasks), 120)
    end = max(r[3] for r in results)
    return start, end, results


def main():
    base, buyers_file, body_tpl = sys.argv[1:4]
    buyers = [line.split() for line in open(buyers_file) if line.strip()]
    start, end, results = asyncio.run(race(base, buyers, body_tpl))
    codes = {}
    http_errors = 0
    for status, body, _, _ in results:
        if status != 200:
            http_errors += 1
            continue
        res = json.loads(body).get("res")
        codes[str(res)] = codes.get(str(res), 0) + 1
    lat = sorted((r[3] - start) * 1000 for r in results)

    def pct(p):
        return round(lat[min(len(lat) - 1, int(len(lat) * p / 100))], 2)

    print(json.dumps({"buyers": len(buyers), "res": codes, "http_errors": http_errors,
                      "wall_ms": round((end - start) * 1000, 2), "p50_ms": pct(50), "p99_ms": pct(99)}))


if __name__ == "__main__":
    main()
