-- wrk script for bench/run, case d: posts every prepared code exactly once.
--
--   wrk -t T -c C -d CAP -s bench/verify.lua URL -- FILE T DONE_PREFIX
--
-- FILE holds one prepared request per line: the pre-session cookie, then
-- the form body (code, csrf, next), separated by a tab.  Thread k of T
-- takes lines k, k+T, k+2T, ...  A 302 to the page asked for is a
-- verification; any other status counts as a failure.  Once its lines
-- are all sent, a connection asks for /_bench/nop (204, not counted) so
-- that wrk has something to send; once every line has its answer, the
-- thread stops and creates DONE_PREFIX.k, which tells bench/run that wrk
-- may be interrupted.  The elapsed time is the thread's own, from its
-- first request to its last answer (monotonic clock, through LuaJIT's
-- ffi), so wrk's fixed duration does not dilute the rate.

local ffi = require("ffi")

ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec_t;
int clock_gettime(int clk_id, bench_timespec_t *tp);
]]

local ts = ffi.new("bench_timespec_t")

local function now()
   ffi.C.clock_gettime(1, ts)          -- CLOCK_MONOTONIC
   return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) / 1e9
end

-- in the main Lua state: the threads, to collect their counts in done()
local threads = {}
local counter = 0

function setup(thread)
   counter = counter + 1
   thread:set("id", counter)
   table.insert(threads, thread)
end

function init(args)
   local file, nthreads = args[1], tonumber(args[2])
   done_file = args[3] .. "." .. id

   reqs = {}
   local n = 0

   for line in io.lines(file) do
      n = n + 1
      if (n - 1) % nthreads == id - 1 then
         local cookie, body = line:match("^([^\t]+)\t(.*)$")
         reqs[#reqs + 1] = wrk.format("POST", "/_totp/verify", {
            ["Cookie"] = "totp_pre=" .. cookie,
            ["Content-Type"] = "application/x-www-form-urlencoded",
         }, body)
      end
   end

   nop = wrk.format("GET", "/_bench/nop")
   expect = args[4]

   next_req = 1
   ok, other, answered = 0, 0, 0
   statuses = {}
   t_first, t_last = 0, 0

   -- wrk calls request() once in the first thread's state just to check
   -- that it parses; that call must not use up a prepared request
   checking = (id == 1)
end

function request()
   if checking then
      checking = false
      return reqs[1] or nop
   end

   local r = reqs[next_req]

   if r == nil then
      return nop
   end

   if next_req == 1 then
      t_first = now()
   end

   next_req = next_req + 1
   return r
end

function response(status, headers, body)
   if status == 204 then
      return
   end

   answered = answered + 1
   t_last = now()

   local loc = headers["Location"] or ""

   if status == 302 and loc:sub(-#expect) == expect then
      ok = ok + 1
   else
      other = other + 1
      statuses[status] = (statuses[status] or 0) + 1
   end

   if answered == #reqs then
      local f = io.open(done_file, "w")
      if f then f:close() end
      wrk.thread:stop()
   end
end

function done(summary, latency, requests)
   local ok_all, other_all, sent_all, first, last = 0, 0, 0, nil, 0
   local st = {}

   for _, t in ipairs(threads) do
      ok_all = ok_all + t:get("ok")
      other_all = other_all + t:get("other")
      sent_all = sent_all + t:get("next_req") - 1

      local f, l = t:get("t_first"), t:get("t_last")
      if f > 0 and (first == nil or f < first) then first = f end
      if l > last then last = l end

      for s, n in pairs(t:get("statuses")) do
         st[#st + 1] = s .. ":" .. n
      end
   end

   io.write(string.format(
      "BENCH-VERIFY ok=%d other=%d sent=%d elapsed=%.6f statuses=%s\n",
      ok_all, other_all, sent_all, first and last - first or 0,
      #st > 0 and table.concat(st, ",") or "-"))
end
