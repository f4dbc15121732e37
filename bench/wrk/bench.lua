-- wrk script for bench/throughput.py. Modes (the first script argument):
--   plain        GET the URL as given (headers come from -H); statuses counted
--   clicks DIR   GET the redirect; each 302's ctx (from Location) is written to DIR/ctx-<id>.txt
--   convert DIR  POST /v2/public/conversions, one fresh ctx (DIR/conv-<id>.txt) and one fresh
--                Idempotency-Key per request; the thread stops once its last ctx is answered
-- done() prints one line: "BENCH {json}" with the counts the Python side needs.

local threads = {}
local counter = 0

function setup(thread)
   thread:set("id", counter)
   counter = counter + 1
   table.insert(threads, thread)
end

local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clk_id, bench_timespec *tp);
]]
local ts = ffi.new("bench_timespec")
local function now_us()  -- CLOCK_MONOTONIC: one clock for every thread
   ffi.C.clock_gettime(1, ts)
   return tonumber(ts.tv_sec) * 1000000 + math.floor(tonumber(ts.tv_nsec) / 1000)
end

local mode, dir, out
local tokens, next_token = {}, 1
local stopping = false
local answered = 0  -- conversion answers (not fillers)
local exhausted_us = 0  -- when the last fresh ctx was sent
local GRACE_US = 250000  -- then this long for the conversions still in flight
-- globals, so done() can read them with thread:get()
statuses = {}
first_us, last_us = 0, 0

function init(args)
   mode = args[1] or "plain"
   dir = args[2]
   if mode == "clicks" then
      out = assert(io.open(dir .. "/ctx-" .. id .. ".txt", "w"))
   elseif mode == "convert" then
      for line in io.lines(dir .. "/conv-" .. id .. ".txt") do
         tokens[#tokens + 1] = line
      end
   end
end

local function finish()
   -- every fresh ctx used and answered: stop this thread (a reused ctx would dedupe), and
   -- leave DIR/done-<id> so the Python side can end wrk (its main thread sleeps out -d);
   -- first_us .. last_us spans the first conversion sent to the last one answered
   if not stopping then
      stopping = true
      local f = io.open(dir .. "/done-" .. id, "w")
      if f then f:close() end
      wrk.thread:stop()
   end
end

local FILLER = "GET /__bench/filler HTTP/1.1\r\nHost: bench\r\n\r\n"

function delay()
   -- wrk may build a request and then drop it (a write retried on a fresh connection calls
   -- request() again), so "every ctx answered" cannot be the only end: once the ctx tokens are
   -- used, each connection waits, then sends one filler (a 404 route, never counted) whose
   -- answer ends the thread after GRACE_US.
   if mode == "convert" and next_token > #tokens then return GRACE_US / 1000 end
   return 0
end

function request()
   if mode ~= "convert" then
      return wrk.format(nil)
   end
   local ctx = tokens[next_token]
   if ctx == nil then
      if exhausted_us == 0 then exhausted_us = now_us() end
      return FILLER
   end
   if first_us == 0 then first_us = now_us() end
   next_token = next_token + 1
   local body = '{"ctx":"' .. ctx .. '"}'
   local headers = {["Content-Type"] = "application/json",
                    ["Idempotency-Key"] = "bench-" .. id .. "-" .. next_token .. "-" .. ctx:sub(-12)}
   return wrk.format("POST", "/v2/public/conversions", headers, body)
end

function response(status, headers, body)
   statuses[status] = (statuses[status] or 0) + 1
   if mode == "convert" and status ~= 404 then
      answered = answered + 1
      last_us = now_us()
   elseif mode ~= "convert" then
      last_us = now_us()
   end
   if mode == "clicks" and status == 302 then
      local location = headers["location"] or headers["Location"] or ""
      local ctx = location:match("[?&]ctx=([^&]+)")
      if ctx then out:write(ctx, "\n") end
   end
   if mode == "convert" and (answered >= #tokens or
                             (exhausted_us > 0 and now_us() - exhausted_us >= GRACE_US)) then
      finish()
   end
end

function done(summary, latency, requests)
   local counts = {}
   local first, last = 0, 0
   for _, thread in ipairs(threads) do
      for code, n in pairs(thread:get("statuses")) do counts[code] = (counts[code] or 0) + n end
      local f, l = thread:get("first_us"), thread:get("last_us")
      if f > 0 and (first == 0 or f < first) then first = f end
      if l > last then last = l end
   end
   local parts = {}
   for code, n in pairs(counts) do parts[#parts + 1] = string.format('"%d":%d', code, n) end
   io.write(string.format(
      'BENCH {"requests":%d,"duration_us":%d,"bytes":%d,"connect_errors":%d,"read_errors":%d,' ..
      '"write_errors":%d,"timeouts":%d,"non_2xx_3xx":%d,"p50_us":%d,"p99_us":%d,' ..
      '"max_us":%d,"span_us":%d,"statuses":{%s}}\n',
      summary.requests, summary.duration, summary.bytes, summary.errors.connect,
      summary.errors.read, summary.errors.write, summary.errors.timeout, summary.errors.status,
      latency:percentile(50), latency:percentile(99), latency.max, last - first, table.concat(parts, ",")))
end
