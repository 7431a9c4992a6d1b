-- wrk script: GET one path per request from a list, time every request, count the statuses.
--   wrk -tC -cC -d15s -s bench/wrk_get_paths.lua BASE_URL -- PATHS_FILE HEADERS_FILE LATENCIES_FILE C
-- Run it with as many threads as connections (-t equal to -c): each thread then holds one
-- connection, so its request() and response() calls alternate and the time between them is
-- that request's latency (taken with CLOCK_MONOTONIC through LuaJIT's ffi, after any
-- reconnect: gunicorn's sync workers close the connection after each response, and wrk
-- calls request() once the new connection is writable, as its own latency clock does).
-- Thread k of C starts at (k-1)/C of the list and walks it in order, wrapping, so two runs
-- with the same list ask for the same ids in the same order.
-- done() writes every latency in microseconds, one per line, to LATENCIES_FILE and prints
-- one line, `WRKJSON {...}`, that bench/loadgen.py reads.

local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } oc_timespec;
int clock_gettime(int clk_id, oc_timespec *tp);
]]
local CLOCK_MONOTONIC = 1
local clock = ffi.new("oc_timespec")

local function now_us()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, clock)
  return tonumber(clock.tv_sec) * 1000000 + tonumber(clock.tv_nsec) / 1000
end

local threads = {}
local next_thread_id = 0

function setup(thread)
  next_thread_id = next_thread_id + 1
  thread:set("thread_id", next_thread_id)
  table.insert(threads, thread)
end

local paths = {}
local position = 0
local started = nil
statuses = {}
latencies = {}
recorded = 0
latencies_path = nil

function init(args)
  for line in io.lines(args[1]) do
    if line ~= "" then
      paths[#paths + 1] = line
    end
  end
  assert(#paths > 0, "no paths in " .. args[1])
  for line in io.lines(args[2]) do
    local name, value = line:match("^([^:]+):%s*(.-)%s*$")
    if name then
      wrk.headers[name] = value
    end
  end
  latencies_path = args[3]
  local thread_count = tonumber(args[4]) or 1
  position = math.floor((thread_id - 1) * #paths / thread_count)
  wrk.method = "GET"
end

function request()
  position = position % #paths + 1
  started = now_us()
  return wrk.format(nil, paths[position])
end

function response(status, headers, body)
  local finished = now_us()
  if started then
    recorded = recorded + 1
    latencies[recorded] = finished - started
    started = nil
  end
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local totals = {}
  local out = assert(io.open(threads[1]:get("latencies_path"), "w"))
  local written = 0
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses") or {}) do
      totals[status] = (totals[status] or 0) + count
    end
    local times = thread:get("latencies") or {}
    local n = thread:get("recorded") or 0
    for i = 1, n do
      if times[i] then
        out:write(string.format("%.1f\n", times[i]))
        written = written + 1
      end
    end
  end
  out:close()
  local parts = {}
  for status, count in pairs(totals) do
    parts[#parts + 1] = string.format('"%d":%d', status, count)
  end
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_s":%.6f,"bytes":%d,"latencies_written":%d,' ..
    '"socket_errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d},"statuses":{%s},' ..
    '"latency_ms":{"mean":%.3f,"p50":%.3f,"p90":%.3f,"p99":%.3f,"max":%.3f}}\n',
    summary.requests, summary.duration / 1e6, summary.bytes, written,
    e.connect, e.read, e.write, e.timeout, table.concat(parts, ","),
    latency.mean / 1e3, latency:percentile(50) / 1e3, latency:percentile(90) / 1e3,
    latency:percentile(99) / 1e3, latency.max / 1e3))
end
