#!/usr/bin/env bash
# Quick figures for one app on this machine: cold start (first request to a never-loaded app),
# warm requests/s under wrk, and the RSS of the supervisor and of one idle worker.
# Usage: bench/quick.sh [APP_DIR] [RUNS]   (needs out/blueboat-edge: make build; wrk: apt install wrk)
set -euo pipefail
cd "$(dirname "$0")/.."
app=${1:-examples/hello-world}
runs=${2:-20}
bin=out/blueboat-edge
port=3917
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }

start_server() {
  "$bin" serve -l 127.0.0.1:$port --app "$app" >/dev/null 2>&1 &
  pid=$!
  until curl -sf "http://127.0.0.1:$port/_blueboat/health" >/dev/null; do sleep 0.01; done
}
stop_server() { kill "$pid"; wait "$pid" 2>/dev/null || true; }

cold=()
for _ in $(seq "$runs"); do
  start_server
  cold+=("$(curl -s -o /dev/null -w '%{time_total}' "http://127.0.0.1:$port/")")
  stop_server
done
printf '%s\n' "${cold[@]}" | sort -n | awk '{ a[NR] = $1 * 1000 } END {
  printf "cold start over %d runs: p50 %.1f ms, max %.1f ms\n", NR, a[int((NR + 1) / 2)], a[NR] }'

start_server
curl -s "http://127.0.0.1:$port/" >/dev/null
wrk -t2 -c64 -d10s "http://127.0.0.1:$port/" | grep -E 'Requests/sec|Latency'
sleep 1
worker=$(pgrep -P "$pid" -x blueboat-app | head -n 1) # not the idle pre-started one (blueboat-idle)
echo "RSS supervisor: $(awk '/VmRSS/ {print $2/1024 " MB"}' /proc/$pid/status)"
echo "RSS idle worker: $(awk '/VmRSS/ {print $2/1024 " MB"}' /proc/$worker/status)"
stop_server
