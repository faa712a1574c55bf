-- POST a fixed JSON body with a bearer token (the /authz/check and floor runs).
-- Environment: BENCH_TOKEN (the access token), BENCH_BODY (JSON, default {"permission": "document.read"}).
local token = os.getenv("BENCH_TOKEN")
if token == nil or token == "" then
  error("BENCH_TOKEN is not set")
end
wrk.method = "POST"
wrk.body = os.getenv("BENCH_BODY") or '{"permission": "document.read"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. token

statuses = {}  -- global: read back with thread:get in done()
function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

local threads = {}
function setup(thread)
  table.insert(threads, thread)
end

function done(summary, latency, requests)
  -- one line per status code, summed over threads, for bench_http.py to parse
  local total = {}
  for _, t in ipairs(threads) do
    local s = t:get("statuses")
    for code, n in pairs(s) do
      total[code] = (total[code] or 0) + n
    end
  end
  for code, n in pairs(total) do
    io.write(string.format("STATUS %d %d\n", code, n))
  end
end
