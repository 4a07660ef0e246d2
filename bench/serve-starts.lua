-- wrk script for bench/serve-starts.sh: every request starts one workflow execution with
-- POST /api/workflow/{name} and a small JSON input. Counts, over all threads, the requests
-- sent, the 200 answers and the other answers, so that the script can compare them with the
-- executions the server created.

local threads = {}

function setup(thread)
   table.insert(threads, thread)
end

function init(args)
   sent = 0
   ok = 0
   failed = 0
   local body = '{"orderId": 42, "items": ["a", "b"], "note": "bench"}'
   req = wrk.format("POST", nil, {["Content-Type"] = "application/json"}, body)
end

function request()
   sent = sent + 1
   return req
end

function response(status, headers, body)
   if status == 200 then
      ok = ok + 1
   else
      failed = failed + 1
      if failed <= 3 then
         io.stderr:write("answer " .. status .. ": " .. body .. "\n")
      end
   end
end

function done(summary, latency, requests)
   local total_sent, total_ok, total_failed = 0, 0, 0
   for _, thread in ipairs(threads) do
      total_sent = total_sent + thread:get("sent")
      total_ok = total_ok + thread:get("ok")
      total_failed = total_failed + thread:get("failed")
   end
   local seconds = summary.duration / 1e6
   io.write(string.format("starts answered 200: %d (%.0f/s)\n", total_ok, total_ok / seconds))
   io.write(string.format("other answers: %d\n", total_failed))
   io.write(string.format("requests sent: %d (unanswered when the run stopped: %d)\n",
      total_sent, total_sent - total_ok - total_failed))
   io.write(string.format("latency: p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms\n",
      latency:percentile(50) / 1000, latency:percentile(90) / 1000,
      latency:percentile(99) / 1000, latency.max / 1000))
end
