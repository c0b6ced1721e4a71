-- wrk script for bench/soak: the gated console's steady traffic, by class.
--
--   wrk -t T -c C -d D -s bench/soak-wrk.lua URL -- FILE DELAY_MS
--
-- FILE holds one request per line: class, method, path and the Cookie
-- header (possibly empty), separated by tabs.  Each request carries its
-- class in X-Soak; the front server echoes it back (X-Soak-Echo), so that
-- response() can count answers by class and status without knowing which
-- connection asked.  The upstream logs X-Soak too: bench/soak checks there
-- that no request of a class that must not pass ever reached it.
--
-- Every connection waits DELAY_MS after each answer (wrk's delay()), so
-- that C connections make at most C * 1000 / DELAY_MS requests per second
-- and leave the machine to the login driver, nginx and Redis.  done()
-- prints one "SOAK-WRK class status count" line per pair and a summary
-- line, which bench/soak reads.

local threads = {}
local counter = 0

function setup(thread)
   counter = counter + 1
   thread:set("id", counter)
   table.insert(threads, thread)
end

function init(args)
   local file = args[1]
   delay_ms = tonumber(args[2]) or 0

   reqs = {}

   for line in io.lines(file) do
      local class, method, path, cookie =
         line:match("^([^\t]+)\t([^\t]+)\t([^\t]+)\t?(.*)$")

      if class then
         local h = { ["X-Soak"] = class }
         local body = nil

         if cookie ~= "" then
            h["Cookie"] = cookie
         end

         if method == "POST" then
            h["Content-Type"] = "application/x-www-form-urlencoded"
            body = "soak=1"
         end

         reqs[#reqs + 1] = wrk.format(method, path, h, body)
      end
   end

   -- threads start at different places of the list
   i = (id - 1) * 7
   counts = {}
end

function request()
   i = i % #reqs + 1
   return reqs[i]
end

function delay()
   return delay_ms
end

function response(status, headers, body)
   local class = headers["X-Soak-Echo"] or "?"
   local k = class .. " " .. status
   counts[k] = (counts[k] or 0) + 1
end

function done(summary, latency, requests)
   local all = {}

   for _, t in ipairs(threads) do
      for k, n in pairs(t:get("counts")) do
         all[k] = (all[k] or 0) + n
      end
   end

   for k, n in pairs(all) do
      io.write(string.format("SOAK-WRK %s %d\n", k, n))
   end

   local e = summary.errors

   io.write(string.format(
      "SOAK-WRK-SUMMARY requests=%d duration_us=%d connect=%d read=%d "
      .. "write=%d timeout=%d p50_us=%d p99_us=%d max_us=%d\n",
      summary.requests, summary.duration, e.connect, e.read, e.write,
      e.timeout, latency:percentile(50), latency:percentile(99),
      latency.max))
end
