#!/usr/bin/env bash
# Deploy-to-live latency and the memory of many deployed apps, against a local store.
#  1. 20 deploys of a one-route app while a client polls it: the time from the deploy command's
#     return to the first response from the new version (p50, max).
#  2. 50 apps deployed and each requested once, then left idle until evicted: supervisor RSS,
#     and the workers left (none expected).
# Usage: bench/deploy.sh   (needs out/blueboat-edge: make build)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$PWD/out/blueboat-edge
work=$(mktemp -d)
trap 'kill $pid 2>/dev/null || true; rm -rf "$work"' EXIT
port=3931
store=$work/store

app_version() { # DIR VERSION
  mkdir -p "$1"
  printf 'Router.get("/", () => new Response("%s"));\n' "$2" > "$1/index.js"
}

app_version "$work/src0" v0
"$bin" deploy "$work/src0" --app site --host site.test --store "$store" >/dev/null
"$bin" serve -l 127.0.0.1:$port --store "$store" --idle-timeout-secs 3 >"$work/log" 2>&1 &
pid=$!
until curl -sf "http://127.0.0.1:$port/_blueboat/health" >/dev/null; do sleep 0.01; done
curl -s -H 'Host: site.test' "http://127.0.0.1:$port/" >/dev/null

lat=()
for i in $(seq 1 20); do
  app_version "$work/src$i" "v$i"
  "$bin" deploy "$work/src$i" --app site --store "$store" >/dev/null
  start=$(date +%s%N)
  until [ "$(curl -s -H 'Host: site.test' "http://127.0.0.1:$port/")" = "v$i" ]; do :; done
  lat+=($(( ($(date +%s%N) - start) / 1000000 )))
done
printf '%s\n' "${lat[@]}" | sort -n | awk '{ a[NR] = $1 } END {
  printf "deploy-to-live over %d deploys: p50 %d ms, max %d ms\n", NR, a[int((NR + 1) / 2)], a[NR] }'

for i in $(seq 1 50); do
  app_version "$work/app$i" "app$i"
  "$bin" deploy "$work/app$i" --app "app$i" --host "app$i.test" --store "$store" >/dev/null
done
for i in $(seq 1 50); do curl -s -H "Host: app$i.test" "http://127.0.0.1:$port/" >/dev/null; done
echo "50 apps running: supervisor RSS $(awk '/VmRSS/ {printf "%.1f MB", $2/1024}' /proc/$pid/status), workers $(pgrep -P $pid | wc -l), workers' RSS $(for w in $(pgrep -P $pid); do awk '/VmRSS/ {print $2}' /proc/$w/status; done | awk '{s+=$1} END {printf "%.0f MB", s/1024}')"
sleep 6
echo "50 apps after idle eviction: supervisor RSS $(awk '/VmRSS/ {printf "%.1f MB", $2/1024}' /proc/$pid/status), workers $(pgrep -P $pid | wc -l)"
