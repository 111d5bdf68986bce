-- wrk script for dailyfresh: one request shape per run, set by environment.
--   DF_BENCH_METHOD   GET or POST (default GET)
--   DF_BENCH_BODY     form body for POST (e.g. "sku_id=1&count=1")
--   DF_BENCH_COOKIE   Cookie header (sessionid=...; csrftoken=...)
--   DF_BENCH_CSRF     X-CSRFToken header
--   DF_BENCH_STATUS   the status every answer must have (default 200)
--   DF_BENCH_EXPECT   a string every answer's body must contain (optional)
-- An answer with another status or without the string counts as an error.
-- done() prints one "RESULT ..." line that bench/run.sh turns into a row.
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
local want_status = tonumber(os.getenv("DF_BENCH_STATUS") or "200")
local expect = os.getenv("DF_BENCH_EXPECT")
if expect == "" then expect = nil end

local threads = {}
function setup(thread)
  threads[#threads + 1] = thread
end

-- global: done() reads it from each thread
unexpected = 0
function response(status, headers, resp_body)
  if status ~= want_status or (expect and not resp_body:find(expect, 1, true)) then
    unexpected = unexpected + 1
  end
end

function done(summary, latency, requests)
  local bad = 0
  for _, t in ipairs(threads) do bad = bad + (t:get("unexpected") or 0) end
  local e = summary.errors
  io.write(string.format("RESULT requests=%d rps=%.0f p50_ms=%.2f p99_ms=%.2f max_ms=%.2f unexpected=%d"
                         .. " socket_errors=%d timeouts=%d\n",
                         summary.requests, summary.requests / (summary.duration / 1e6),
                         latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
                         bad, e.connect + e.read + e.write, e.timeout))
end
