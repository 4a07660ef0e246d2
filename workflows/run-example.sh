#!/usr/bin/env bash
# Runs an example workflow end to end on the embedded engine: builds ocflow and the example OCF
# services, starts the services on a free port, runs the workflow against them, stops them.
#
#   bash workflows/run-example.sh [NAME] [ocflow run options...]
#
# NAME is a folder of workflows/ (default: order-fulfillment); its input.json is the input.
set -euo pipefail
cd "$(dirname "$0")/.."
name=${1:-order-fulfillment}
shift || true

cargo build --quiet --bin ocflow --bin ocflow-example-services
work=$(mktemp -d)
trap 'kill "$services_pid" 2>/dev/null || true; rm -rf "$work"' EXIT

target/debug/ocflow-example-services --listen 127.0.0.1:0 --registry-out "$work/services.json" \
  >"$work/services.log" 2>&1 &
services_pid=$!
for _ in $(seq 100); do
  [ -s "$work/services.json" ] && break
  sleep 0.05
done

target/debug/ocflow run "workflows/$name/workflow.json" \
  --input-file "workflows/$name/input.json" \
  --defs workflows \
  --services "$work/services.json" \
  --db "$work/ocflow.db" \
  "$@"
