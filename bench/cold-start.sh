#!/usr/bin/env bash
# Cold start: the first request to each of N never-loaded small apps over loopback, from the
# client's side (curl's time_total), against one server with a local store. Before each request
# the script waits until the pool of pre-started workers is full again (as it is between cold
# starts that are not all in the same instant), read from the admin endpoint's /health.
# Prints one machine-readable line last:  cold_start_ms p50=.. p99=.. max=.. runs=N pool=P
# Usage: bench/cold-start.sh [RUNS] [POOL]   (defaults 20 and 2; needs out/blueboat-edge: make build)
# COLD_START_STDERR=FILE keeps the server's stderr (it is dropped otherwise).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-20}
pool=${2:-2}
bin=$PWD/out/blueboat-edge
[ -x "$bin" ] || { echo "$bin is missing: run make build" >&2; exit 1; }
work=$(mktemp -d)
pid=""
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port=$(free_port)
admin=$(free_port)
head -c 24 /dev/urandom | base64 > "$work/token"
auth="Authorization: Bearer $(cat "$work/token")"

for i in $(seq 1 "$runs"); do
  mkdir -p "$work/app$i"
  # a small app: a Router with two routes and a helper module
  printf 'export const greet = (n) => `hello from app %s, ${n}`;\n' "$i" > "$work/app$i/greet.mjs"
  printf 'import { greet } from "./greet.mjs";\nRouter.get("/", () => new Response(greet("world")));\nRouter.get("/json", (req) => Response.json({ url: req.url }));\n' > "$work/app$i/index.mjs"
  "$bin" deploy "$work/app$i" --app "app$i" --host "app$i.test" --store "$work/store" >/dev/null
done

"$bin" serve -l 127.0.0.1:$port --store "$work/store" --worker-pool "$pool" \
  --admin-listen 127.0.0.1:$admin --admin-token-file "$work/token" >"$work/log" 2>"${COLD_START_STDERR:-/dev/null}" &
pid=$!
until curl -sf "http://127.0.0.1:$port/_blueboat/health" >/dev/null; do sleep 0.01; done

pool_full() {
  [ "$pool" -eq 0 ] && return 0
  curl -sf -H "$auth" "http://127.0.0.1:$admin/health" | grep -q "\"idle_workers\": $pool"
}

times=()
for i in $(seq 1 "$runs"); do
  deadline=$((SECONDS + 30))
  until pool_full; do
    [ $SECONDS -lt $deadline ] || { echo "the pool did not fill within 30 s; log:" >&2; tail -n 20 "$work/log" >&2; exit 1; }
    sleep 0.02
  done
  sleep 0.05 # let the refill's own start-up work settle
  t=$(curl -s -o "$work/body" -w '%{time_total}' -H "Host: app$i.test" "http://127.0.0.1:$port/")
  grep -q "hello from app $i, world" "$work/body" || { echo "app$i answered: $(cat "$work/body")" >&2; exit 1; }
  times+=("$t")
done

# where the time went, from the server's own log (the mean over all runs)
grep '"msg":"worker ready"' "$work/log" | python3 -c '
import json, sys
rows = [json.loads(l) for l in sys.stdin]
pre = sum(1 for r in rows if r.get("pre_started"))
if rows:
    print("server side: %d of %d from pre-started workers; mean start %.1f ms, of which app load in the worker %.1f ms" % (
        pre, len(rows), sum(r["start_ms"] for r in rows) / len(rows), sum(r.get("load_ms", 0) for r in rows) / len(rows)))'

printf '%s\n' "${times[@]}" | sort -n | awk -v pool="$pool" '{ a[NR] = $1 * 1000 } END {
  p99 = int(NR * 0.99); if (p99 < NR * 0.99) p99++; if (p99 < 1) p99 = 1
  printf "cold_start_ms p50=%.1f p99=%.1f max=%.1f runs=%d pool=%d\n", a[int((NR + 1) / 2)], a[p99], a[NR], NR, pool }'
