-- POST /oauth/token, form-encoded client_credentials, one fresh client assertion per request.
-- Environment: BENCH_ASSERTIONS (a file, one signed assertion per line, each with a unique jti),
--              BENCH_THREADS (the -t value). Thread i uses lines i, i+T, i+2T, ... so no two
--              threads ever send the same assertion. If a thread runs out it wraps around
--              (the replays then fail as 401) and reports it as ASSERTIONS_EXHAUSTED.
local path = os.getenv("BENCH_ASSERTIONS")
local nthreads = tonumber(os.getenv("BENCH_THREADS") or "1")
if path == nil or path == "" then
  error("BENCH_ASSERTIONS is not set")
end

local PREFIX = "grant_type=client_credentials"
  .. "&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer"
  .. "&client_assertion="
local HEADERS = { ["Content-Type"] = "application/x-www-form-urlencoded" }

local threads = {}
local counter = 0
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

local bodies = {}
local nextidx = 1
wrapped = 0
statuses = {}

function init(args)
  local i = 0
  for line in io.lines(path) do
    if line ~= "" then
      if i % nthreads == id then
        bodies[#bodies + 1] = PREFIX .. line
      end
      i = i + 1
    end
  end
  if #bodies == 0 then
    error("no assertions for thread " .. id)
  end
end

function request()
  if nextidx > #bodies then
    nextidx = 1
    wrapped = wrapped + 1
  end
  local body = bodies[nextidx]
  nextidx = nextidx + 1
  return wrk.format("POST", nil, HEADERS, body)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local total = {}
  local exhausted = 0
  for _, t in ipairs(threads) do
    exhausted = exhausted + (t:get("wrapped") or 0)
    local s = t:get("statuses")
    for code, n in pairs(s) do
      total[code] = (total[code] or 0) + n
    end
  end
  for code, n in pairs(total) do
    io.write(string.format("STATUS %d %d\n", code, n))
  end
  io.write(string.format("ASSERTIONS_EXHAUSTED %d\n", exhausted))
end
