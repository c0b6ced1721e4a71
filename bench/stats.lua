-- wrk script for bench/run: no request() or response() of its own, so
-- wrk sends its one static request as fast as without a script; done()
-- prints the run's numbers on one line, in microseconds, for bench/run.

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      "BENCH requests=%d duration_us=%d p50_us=%d p99_us=%d "
      .. "status_errors=%d socket_errors=%d\n",
      summary.requests, summary.duration,
      latency:percentile(50), latency:percentile(99),
      e.status, e.connect + e.read + e.write + e.timeout))
end
