-- Shared by bench/post.lua and bench/chain.lua (loaded with dofile from the repository root, where
-- run.sh and proxy.sh run wrk): the list of wrk threads and the one RESULT line bench/run.sh parses,
-- summing every thread's non2xx and unexpected counters.
threads = {}

function done(summary, latency, requests)
  local n, u = 0, 0
  for _, t in ipairs(threads) do
    n = n + t:get("non2xx")
    u = u + t:get("unexpected")
  end
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d seconds=%.2f rps=%.0f p50_ms=%.2f p99_ms=%.2f non2xx=%d unexpected=%d socket_errors=%d\n",
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, n, u,
    e.connect + e.read + e.write + e.timeout))
end
