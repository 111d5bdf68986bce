-- wrk script for dailyfresh: one request shape per run, set by environment.
--   DF_BENCH_METHOD  GET or POST (default GET)
--   DF_BENCH_BODY    form body for POST (e.g. "sku_id=1&count=1")
--   DF_BENCH_COOKIE  Cookie header (sessionid=...; csrftoken=...)
--   DF_BENCH_CSRF    X-CSRFToken header
-- done() prints one "RESULT ..." line that bench/run.sh turns into a table.
wrk.method = os.getenv("DF_BENCH_METHOD") or "GET"
local body = os.getenv("DF_BENCH_BODY")
if body and body ~= "" then
  wrk.body = body
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
end
local cookie = os.getenv("DF_BENCH_COOKIE")
if cookie and cookie ~= "" then wrk.headers["Cookie"] = cookie end
local csrf = os.getenv("DF_BENCH_CSRF")
if csrf and csrf ~= "" then wrk.headers["X-CSRFToken"] = csrf end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT requests=%d rps=%.0f p50_ms=%.2f p99_ms=%.2f max_ms=%.2f non2xx=%d"
                         .. " socket_errors=%d timeouts=%d\n",
                         summary.requests, summary.requests / (summary.duration / 1e6),
                         latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
                         e.status, e.connect + e.read + e.write, e.timeout))
end
