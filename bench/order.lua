-- wrk script: sustained POST /order/commit, each request by the next buyer
-- of DF_BENCH_BUYERS (lines "sessionid csrftoken addr_id sku_id", from
-- bench/buyers.py), so every order is a distinct buyer's one cart line.
-- Threads take interleaved buyers; a buyer is never used twice. Answers
-- other than res 5 are counted and printed by done(). With
-- DF_BENCH_FLASH_SALE set, each request is that buyer's POST /order/flash in
-- the sale instead (sku_id of the line unused).
local buyers = {}
for line in io.lines(os.getenv("DF_BENCH_BUYERS")) do
  local sid, csrf, addr, sku = line:match("^(%S+) (%S+) (%S+) (%S+)$")
  if sid then buyers[#buyers + 1] = {sid, csrf, addr, sku} end
end
local pay_method = os.getenv("DF_BENCH_PAY_METHOD") or "1"
local flash_sale = os.getenv("DF_BENCH_FLASH_SALE")

local threads = {}
function setup(thread)
  thread:set("id", #threads)
  threads[#threads + 1] = thread
end

-- globals: done() reads refused and exhausted from each thread
refused, exhausted = 0, 0
-- each thread's requests, formatted once before the run: wrk then spends
-- per request what it spends on a static one (the no-backend baseline's),
-- not a Lua table and a wrk.format, so the figure is the shop's
local reqs, next_req, fallback = {}, 1, nil

local function format(b)
  local headers = {
    ["Cookie"] = "sessionid=" .. b[1] .. "; csrftoken=" .. b[2],
    ["X-CSRFToken"] = b[2],
    ["Content-Type"] = "application/x-www-form-urlencoded",
  }
  if flash_sale then
    return wrk.format("POST", "/order/flash", headers,
                      "sale_id=" .. flash_sale .. "&addr_id=" .. b[3] .. "&pay_method=" .. pay_method)
  end
  return wrk.format("POST", "/order/commit", headers, "addr_id=" .. b[3] .. "&pay_method=" .. pay_method
                    .. "&sku_ids=" .. b[4])
end

function init(args)
  local stride = tonumber(os.getenv("DF_BENCH_THREADS") or "2")
  for i = id + 1, #buyers, stride do reqs[#reqs + 1] = format(buyers[i]) end
  -- a thread past the last buyer still sends the first one's (counted as exhausted)
  fallback = format(buyers[1])
  buyers = nil
end

function request()
  local q = reqs[next_req]
  next_req = next_req + 1
  if not q then
    exhausted = exhausted + 1
    q = fallback
  end
  return q
end

function response(status, headers, body)
  if status ~= 200 or not body:find('"res":5', 1, true) then refused = refused + 1 end
end

function done(summary, latency, requests)
  local bad, short = 0, 0
  for _, t in ipairs(threads) do
    bad = bad + (t:get("refused") or 0)
    short = short + (t:get("exhausted") or 0)
  end
  local e = summary.errors
  io.write(string.format("RESULT requests=%d rps=%.0f p50_ms=%.2f p99_ms=%.2f max_ms=%.2f non2xx=%d"
                         .. " socket_errors=%d timeouts=%d not_res5=%d buyers_short=%d\n",
                         summary.requests, summary.requests / (summary.duration / 1e6),
                         latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
                         e.status, e.connect + e.read + e.write, e.timeout, bad, short))
end
