-- One wrk script for every bench case, set through the environment by tests/bench/measure.py:
--   BENCH_METHOD (GET), BENCH_BODY (a JSON body), BENCH_HEADERS ("Name: value" lines);
--   BENCH_CART_IDS and BENCH_CART_PRODUCTS (space-separated): each request adds one unit of the
--   next product to the next cart (X-Cart-Id), cycling, instead of sending BENCH_BODY.
-- It prints one JSON line of figures when wrk is done, which measure.py reads.
wrk.method = os.getenv("BENCH_METHOD") or "GET"
local body = os.getenv("BENCH_BODY")
if body and body ~= "" then
  wrk.body = body
  wrk.headers["Content-Type"] = "application/json"
end
for line in string.gmatch(os.getenv("BENCH_HEADERS") or "", "[^\n]+") do
  local name, value = string.match(line, "^([^:]+):%s*(.*)$")
  if name then wrk.headers[name] = value end
end

local carts, products = {}, {}
for id in string.gmatch(os.getenv("BENCH_CART_IDS") or "", "%S+") do carts[#carts + 1] = id end
for id in string.gmatch(os.getenv("BENCH_CART_PRODUCTS") or "", "%S+") do products[#products + 1] = id end

if #carts > 0 and #products > 0 then
  local n = 0
  request = function()
    n = n + 1
    local headers = {["Content-Type"] = "application/json", ["X-Cart-Id"] = carts[n % #carts + 1]}
    -- Products advance once per round of carts: every cart gets every product in turn.
    local product = products[math.floor(n / #carts) % #products + 1]
    return wrk.format("POST", nil, headers, '{"id":"' .. product .. '","qty":1}')
  end
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests":%d,"duration_us":%d,"non_2xx_3xx":%d,"socket_errors":%d,' ..
    '"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d}\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
