#!/usr/bin/env bash
# Reproduces the "http-task" figures of BENCHMARKS.md: stripped bootstrap size, time from process
# start to the first invocation served, peak RSS, and per-invocation latency under a local Lambda
# Runtime API (Python, loopback only). Handler overhead over a raw HTTP call is measured by the
# ignored test `handler_overhead_over_raw_reqwest` of ocflow-tasks (see BENCHMARKS.md).
#
# Usage: functions/http-task/bench.sh [invocations]   (from the workspace root)
set -euo pipefail
invocations="${1:-500}"
cargo lambda build --release -p ocflow-fn-http-task >&2
bootstrap=target/lambda/ocflow-fn-http-task/bootstrap
echo "bootstrap size: $(stat -c %s "$bootstrap") bytes"
python3 - "$bootstrap" "$invocations" <<'PY'
import json, os, queue, statistics, subprocess, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

binary, count = sys.argv[1], int(sys.argv[2])
events, outcomes = queue.Queue(), queue.Queue()

class Quiet(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # One write per response and no Nagle: otherwise delayed ACKs add 40 ms to every exchange.
    wbufsize = 65536
    disable_nagle_algorithm = True
    def log_message(self, *args):
        pass
    def reply(self, code, body, headers=()):
        data = body.encode()
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

class Service(Quiet):
    def do_GET(self):
        self.reply(200, '{"ok":true}', [("content-type", "application/json")])

class RuntimeApi(Quiet):
    def do_GET(self):
        request_id, event = events.get()
        deadline = int(time.time() * 1000) + 30000
        self.reply(200, json.dumps(event), [
            ("lambda-runtime-aws-request-id", request_id),
            ("lambda-runtime-deadline-ms", str(deadline)),
            ("lambda-runtime-invoked-function-arn", "arn:aws:lambda:us-east-1:123456789012:function:bench"),
        ])
    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length", 0)))
        outcomes.put((time.perf_counter(), self.path))
        self.reply(202, "")

def serve(handler):
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server.server_address[1]

service, api = serve(Service), serve(RuntimeApi)
event = {"uri": f"http://127.0.0.1:{service}/ok", "connectionTimeOut": 1000, "readTimeOut": 1000}
env = {
    "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{api}", "AWS_LAMBDA_FUNCTION_NAME": "bench",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128", "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
    "OCFLOW_HOST_POLICY": "strict", "OCFLOW_REGISTRY": json.dumps({"allow": ["127.0.0.1"]}),
    "RUST_LOG": "warn",
}
events.put(("req-0", event))
started = time.perf_counter()
process = subprocess.Popen([binary], env=env, stdout=subprocess.DEVNULL)
served, path = outcomes.get(timeout=10)
assert path.endswith("/response"), path
print(f"start to first invocation served: {(served - started) * 1000:.1f} ms")
latencies = []
for i in range(count):
    sent = time.perf_counter()
    events.put((f"req-{i + 1}", event))
    done, path = outcomes.get(timeout=10)
    assert path.endswith("/response"), path
    latencies.append((done - sent) * 1e6)
with open(f"/proc/{process.pid}/status") as status:
    peak = next(line.split()[1] for line in status if line.startswith("VmHWM"))
process.kill()
print(f"peak RSS after {count + 1} invocations: {int(peak) / 1024:.1f} MiB")
print(f"invocation round trip (Runtime API next -> response): median {statistics.median(latencies):.0f} us, p99 {sorted(latencies)[int(count * 0.99) - 1]:.0f} us")
PY
