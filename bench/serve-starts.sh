#!/usr/bin/env bash
# Load bench of workflow starts on `ocflow serve`: POST /api/workflow/{name} with wrk.
#
#   bash bench/serve-starts.sh            # 10 s, 1 wrk thread, 32 connections
#   DURATION=30s CONNECTIONS=64 THREADS=2 bash bench/serve-starts.sh
#   OCFLOW=target/release/ocflow bash bench/serve-starts.sh   # no build
#
# Builds the release `ocflow`, serves a fresh SQLite file on a free loopback port, registers
# `bench_starts` (one SIMPLE worker task: each execution is created, schedules its task on the
# worker queue and then waits, so the run measures the start path and the bounded work behind
# each start, not workflows that keep running beside the load), runs wrk with
# bench/serve-starts.lua, then checks that the server holds exactly as many executions as it
# answered 200 to (plus at most the requests wrk left unanswered when it stopped), and that every
# one of them reached its worker task. Prints requests/s, latency and the counts; exits non-zero
# if a check fails.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
duration="${DURATION:-10s}"
connections="${CONNECTIONS:-32}"
threads="${THREADS:-1}"
workflow=bench_starts

if ! command -v wrk >/dev/null; then
    echo "installing wrk (Debian package)" >&2
    if [ "$(id -u)" -eq 0 ]; then apt-get install -y wrk >/dev/null; else sudo apt-get install -y wrk >/dev/null; fi
fi

# OCFLOW=path/to/ocflow runs a binary built already instead of building one.
ocflow="${OCFLOW:-}"
if [ -z "$ocflow" ]; then
    cargo build --release -p ocflow-cli --bin ocflow
    ocflow="${CARGO_TARGET_DIR:-$root/target}/release/ocflow"
fi

tmp="$(mktemp -d)"
server=""
cleanup() {
    if [ -n "$server" ] && kill -0 "$server" 2>/dev/null; then
        kill "$server"
        wait "$server" 2>/dev/null || true
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT

port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
"$ocflow" serve --db "$tmp/bench.db" --port "$port" >"$tmp/serve.log" 2>&1 &
server=$!
for _ in $(seq 100); do
    grep -q "listening on" "$tmp/serve.log" && break
    kill -0 "$server" 2>/dev/null || { cat "$tmp/serve.log" >&2; exit 1; }
    sleep 0.1
done
grep -q "listening on" "$tmp/serve.log" || { echo "ocflow serve did not start" >&2; exit 1; }
base="http://127.0.0.1:$port"

curl -sf -X POST "$base/api/metadata/workflow" -H 'Content-Type: application/json' -d '{
  "name": "'"$workflow"'", "version": 1, "schemaVersion": 2,
  "tasks": [{"name": "bench_task", "taskReferenceName": "work", "type": "SIMPLE",
             "inputParameters": {"orderId": "${workflow.input.orderId}",
                                 "items": "${workflow.input.items}"}}],
  "outputParameters": {"done": "${work.output.done}"}
}' >/dev/null

echo "machine: nproc $(nproc), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "wrk: $threads thread(s), $connections connections, $duration"
wrk -t"$threads" -c"$connections" -d"$duration" --latency -s bench/serve-starts.lua \
    "$base/api/workflow/$workflow" | tee "$tmp/wrk.out"

ok="$(sed -n 's/^starts answered 200: \([0-9]*\).*/\1/p' "$tmp/wrk.out")"
failed="$(sed -n 's/^other answers: \([0-9]*\)/\1/p' "$tmp/wrk.out")"
unanswered="$(sed -n 's/.*unanswered when the run stopped: \([0-9]*\)).*/\1/p' "$tmp/wrk.out")"

# Executions keep reaching their worker task for a moment after the last answer.
count() {
    curl -sf "$base/api/workflow/search?size=1&query=workflowType%3D$workflow" |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["totalHits"])'
}
queued() {
    sqlite3 "file:$tmp/bench.db?mode=ro" \
        "SELECT count(*) FROM local_worker_tasks WHERE task_type = 'bench_task'" 2>/dev/null || echo "?"
}
created="$(count)"
waiting="$(queued)"
for _ in $(seq 100); do
    [ "$waiting" = "$created" ] && break
    [ "$waiting" = "?" ] && break
    sleep 0.1
    created="$(count)"
    waiting="$(queued)"
done

echo "executions created: $created; worker tasks queued: $waiting"
status=0
if [ "$failed" != 0 ]; then
    echo "FAIL: $failed start(s) answered with an error" >&2
    status=1
fi
if [ "$created" -lt "$ok" ] || [ "$created" -gt $((ok + unanswered)) ]; then
    echo "FAIL: $created executions for $ok answers 200 (and $unanswered unanswered)" >&2
    status=1
elif [ "$created" -eq "$ok" ]; then
    echo "check: executions created = answers 200 = $ok"
else
    echo "check: executions created = $created = $ok answers 200 + $((created - ok)) of the $unanswered requests left unanswered when wrk stopped"
fi
if [ "$waiting" != "?" ] && [ "$waiting" != "$created" ]; then
    echo "FAIL: $waiting worker tasks queued for $created executions" >&2
    status=1
fi
exit "$status"
