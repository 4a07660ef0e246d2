#!/usr/bin/env bash
# Runs the whole test suite: installs the external tools the tests use (into target/tools, never
# globally), then every unit, integration, corpus and doc test of the workspace.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
tools="$root/target/tools"
mkdir -p "$tools"

# asl-validator (npm) checks every compiled state machine.
if [ ! -x "$tools/node_modules/.bin/asl-validator" ]; then
  npm install --silent --no-audit --no-fund --prefix "$tools" asl-validator@4 >/dev/null
fi
export PATH="$tools/node_modules/.bin:$PATH"

# cfn-lint (PyPI) checks the SAM template `ocflow synth` writes (crates/synth tests).
if [ ! -x "$tools/cfn-venv/bin/cfn-lint" ]; then
  python3 -m venv "$tools/cfn-venv"
  "$tools/cfn-venv/bin/pip" install -q --disable-pip-version-check cfn-lint >/dev/null
fi

# moto (PyPI), the local AWS API emulator of the crates/aws tests (tests/moto/launch.py). The
# tests create this venv themselves when it is missing; the marker says pip finished.
if [ ! -f "$tools/moto-venv/.ocflow-ready" ]; then
  rm -rf "$tools/moto-venv"
  python3 -m venv "$tools/moto-venv"
  "$tools/moto-venv/bin/pip" install -q --disable-pip-version-check -r tests/moto/requirements.txt >/dev/null
  touch "$tools/moto-venv/.ocflow-ready"
fi

# conductor-python (PyPI), Conductor's Python SDK, run unchanged against `ocflow serve` by
# crates/cli/tests/conductor_python.rs. The marker holds the requirements the venv was made from.
compat="tests/compat/conductor-python/requirements.txt"
if ! cmp -s "$compat" "$tools/conductor-venv/.ocflow-ready"; then
  rm -rf "$tools/conductor-venv"
  python3 -m venv "$tools/conductor-venv"
  "$tools/conductor-venv/bin/pip" install -q --disable-pip-version-check -r "$compat" >/dev/null
  cp "$compat" "$tools/conductor-venv/.ocflow-ready"
fi

if ! command -v cargo-nextest >/dev/null 2>&1; then
  cargo install --locked cargo-nextest
fi

cargo nextest run --workspace --locked --no-fail-fast
cargo test --workspace --locked --doc

# The functions as Lambda ships them: cargo-lambda (PyPI) builds the bootstrap binaries
# (x86_64 here; see crates/tasks/README.md for --arm64), which must stay within 6 MiB.
if [ ! -x "$tools/lambda-venv/bin/cargo-lambda" ]; then
  python3 -m venv "$tools/lambda-venv"
  "$tools/lambda-venv/bin/pip" install -q --disable-pip-version-check cargo-lambda ziglang >/dev/null
fi
# Built apart, as `sam build` builds each function: one cargo invocation unifies the features of
# every package it builds, which would size the task functions with the API's dependencies.
PATH="$tools/lambda-venv/bin:$PATH" cargo lambda build --release --locked \
  -p ocflow-fn-http-task -p ocflow-fn-script-task
PATH="$tools/lambda-venv/bin:$PATH" cargo lambda build --release --locked -p ocflow-fn-api
# The API function links three SDK clients, the router and the compiler (registering
# workflows): about 8.5 MiB; it may take 10.
for entry in http-task:6 script-task:6 api:10; do
  function=${entry%%:*} limit=${entry##*:}
  size=$(stat -c %s "${CARGO_TARGET_DIR:-target}/lambda/ocflow-fn-$function/bootstrap")
  echo "lambda $function: bootstrap is $size bytes"
  [ "$size" -le $((limit * 1024 * 1024)) ] || { echo "lambda $function: over $limit MiB" >&2; exit 1; }
done
