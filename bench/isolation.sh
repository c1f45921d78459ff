#!/usr/bin/env bash
# Figures for the sandbox and the limits:
#  1. the size of the seccomp allowlist (seccomp/worker.policy);
#  2. CPU-limit overshoot: with --cpu-limit-ms 50, how much CPU a busy loop gets before it is
#     stopped, over 100 tries (p50, max), read from the worker's own log line;
#  3. what seccomp costs: hello-world requests/s under wrk with the filter and without it.
# Usage: bench/isolation.sh   (needs out/blueboat-edge: make build; wrk)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$PWD/out/blueboat-edge
port=3961
log=$(mktemp)
trap 'kill $pid 2>/dev/null || true; rm -f "$log"' EXIT

rules=$(grep -vE '^\s*(#|$)' seccomp/worker.policy)
echo "seccomp allowlist: $(grep -cvE '^\S+\s+errno' <<< "$rules") syscalls allowed ($(grep -cE '^\S+\s+errno' <<< "$rules") refused with an errno, the rest kill)"

"$bin" serve -l 127.0.0.1:$port --app tests/apps/inspect --cpu-limit-ms 50 >"$log" 2>&1 &
pid=$!
until curl -sf "http://127.0.0.1:$port/_blueboat/health" >/dev/null; do sleep 0.01; done
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$port/loop"; done
sleep 0.5
grep -o 'it used [0-9.]* ms of CPU' "$log" | awk '{print $3 - 50}' | sort -n | awk '{ a[NR] = $1 } END {
  printf "CPU-limit overshoot at 50 ms over %d tries: p50 %.1f ms, max %.1f ms\n", NR, a[int((NR + 1) / 2)], a[NR] }'
kill $pid; wait $pid 2>/dev/null || true

for mode in "" --dangerously-disable-seccomp; do
  "$bin" serve -l 127.0.0.1:$port --app examples/hello-world $mode >/dev/null 2>&1 &
  pid=$!
  until curl -sf "http://127.0.0.1:$port/_blueboat/health" >/dev/null; do sleep 0.01; done
  curl -s "http://127.0.0.1:$port/" >/dev/null
  wrk -t2 -c64 -d5s "http://127.0.0.1:$port/" >/dev/null # warm-up
  rps=$(wrk -t2 -c64 -d10s "http://127.0.0.1:$port/" | awk '/Requests\/sec/ {print $2}')
  echo "hello world ${mode:-with seccomp}: $rps requests/s"
  kill $pid; wait $pid 2>/dev/null || true
done
