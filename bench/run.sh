#!/usr/bin/env bash
# make bench: blueboat-edge against workerd, in one run, on this machine.
#  (a) hello world, (b) POST of a 2 KB JSON body that is parsed, re-serialised and answered with
#  its SHA-256: requests/s, p50 and p99 under the same wrk settings for both runtimes;
#  cold start over 20 never-loaded apps; RSS of the supervisor, of each idle app worker, and of
#  workerd; io-uring against socket transport for ours.
# Prints a markdown table and writes it to bench/results/latest.md.
# Needs out/blueboat-edge (make bench builds it first). Installs wrk (Debian) and workerd (npm,
# pinned in bench/peers/package-lock.json) when missing.
# Environment: BENCH_DURATION (default 10s), BENCH_WARMUP (default 3s), BENCH_CONNECTIONS (64),
# BENCH_THREADS (2), BENCH_COLD_APPS (20), BENCH_ROUNDS (2: the best of that many alternating runs counts).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
bin=$root/out/blueboat-edge
duration=${BENCH_DURATION:-10s}
warmup=${BENCH_WARMUP:-3s}
conns=${BENCH_CONNECTIONS:-64}
threads=${BENCH_THREADS:-2}
cold_apps=${BENCH_COLD_APPS:-20}
rounds=${BENCH_ROUNDS:-2}
body_file=$root/bench/apps/json-sha/body.json

[ -x "$bin" ] || { echo "bench: $bin is missing; run make build (or make bench)" >&2; exit 1; }

# ---- peers ----
if ! command -v wrk >/dev/null; then
  echo "bench: installing wrk" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
fi
if [ ! -x bench/peers/node_modules/.bin/workerd ]; then
  echo "bench: installing workerd (bench/peers)" >&2
  (cd bench/peers && npm ci --no-audit --no-fund >/dev/null)
fi
workerd=$root/bench/peers/node_modules/.bin/workerd
workerd_version=$("$workerd" --version 2>&1 | head -n 1)

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

wait_http() { # URL [HOST] -> 0 once it answers, 1 after 20 s or when the process died
  local url=$1 host=${2:-} pid=$3
  for _ in $(seq 2000); do
    kill -0 "$pid" 2>/dev/null || return 1
    if curl -s -o /dev/null ${host:+-H "Host: $host"} "$url"; then return 0; fi
    sleep 0.01
  done
  return 1
}

# Runs wrk (after a warm-up) and prints "rps p50_ms p99_ms".
drive() { # URL HOST [LUA_SCRIPT SCRIPT_ARG]
  local url=$1 host=$2; shift 2
  local script=() args=()
  if [ $# -ge 2 ]; then script=(-s "$1"); args=("$2"); fi
  wrk -t"$threads" -c"$conns" -d"$warmup" -H "Host: $host" "${script[@]}" "$url" "${args[@]}" >/dev/null
  wrk -t"$threads" -c"$conns" -d"$duration" --latency -H "Host: $host" "${script[@]}" "$url" "${args[@]}" > "$work/wrk.out"
  if grep -q 'Non-2xx' "$work/wrk.out"; then
    echo "bench: non-2xx answers from $url:" >&2; cat "$work/wrk.out" >&2
  fi
  awk '
    function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
    /Requests\/sec/ { rps = $2 }
    $1 == "50%" { p50 = ms($2) }
    $1 == "99%" { p99 = ms($2) }
    END { printf "%.0f %.2f %.2f\n", rps, p50, p99 }' "$work/wrk.out"
}

cat > "$work/post.lua" <<'EOF'
-- POSTs the file named by the first script argument as JSON.
function init(args)
  local f = assert(io.open(args[1], "rb"))
  wrk.body = f:read("*a")
  f:close()
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end
EOF
post=("$work/post.lua" "$body_file")

rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
# A supervisor's children by role: app workers name themselves blueboat-app, pre-started (pool)
# workers that no app has taken yet blueboat-idle.
workers_named() { for w in $(pgrep -P "$1" || true); do [ "$(cat "/proc/$w/comm" 2>/dev/null)" = "$2" ] && echo "$w"; done; }
private_kb() { awk '/^Private_(Clean|Dirty)/ {s += $2} END {print s + 0}' "/proc/$1/smaps_rollup" 2>/dev/null || echo 0; }
mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

# ---- blueboat-edge: one store with both apps ----
store=$work/store
"$bin" deploy bench/apps/hello --app hello --host hello.bench --store "$store" >/dev/null
"$bin" deploy bench/apps/json-sha --app json-sha --host json.bench --store "$store" >/dev/null

start_ours() { # PORT [serve flags...] -> sets ours_pid; 1 when it does not start
  local port=$1; shift
  "$bin" serve -l 127.0.0.1:"$port" --store "$store" "$@" >"$work/ours-$port.log" 2>&1 &
  ours_pid=$!
  pids+=("$ours_pid")
  wait_http "http://127.0.0.1:$port/_blueboat/health" "" "$ours_pid"
}
stop_pid() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

ours_port=$(free_port)
start_ours "$ours_port" || { echo "bench: blueboat-edge did not start:" >&2; cat "$work/ours-$ours_port.log" >&2; exit 1; }
ours=$ours_pid
curl -sf -H "Host: hello.bench" "http://127.0.0.1:$ours_port/" >/dev/null
curl -sf -H "Host: json.bench" --data-binary @"$body_file" "http://127.0.0.1:$ours_port/" >/dev/null

# ---- workerd ----
hello_port=$(free_port)
json_port=$(free_port)
# capnp embeds resolve relative to the config file: the config goes beside a copy of the apps.
cp -r bench/apps "$work/apps"
sed -e "s|@HELLO_PORT@|$hello_port|" -e "s|@JSON_PORT@|$json_port|" bench/apps/workerd.capnp.in > "$work/apps/workerd.capnp"
"$workerd" serve "$work/apps/workerd.capnp" >"$work/workerd.log" 2>&1 &
wd=$!
pids+=("$wd")
wait_http "http://127.0.0.1:$hello_port/" "" "$wd" || { echo "bench: workerd did not start:" >&2; cat "$work/workerd.log" >&2; exit 1; }

# Same answers from both, or the comparison means nothing.
a=$(curl -s -H "Host: json.bench" --data-binary @"$body_file" "http://127.0.0.1:$ours_port/")
b=$(curl -s --data-binary @"$body_file" "http://127.0.0.1:$json_port/")
[ "$a" = "$b" ] || { echo "bench: json-sha answers differ: ours '$a', workerd '$b'" >&2; exit 1; }

# Other load on a shared machine only ever slows a server down: each case runs BENCH_ROUNDS
# times, ours and workerd alternating, and the round with the most requests/s counts for each.
better() { # CURRENT CANDIDATE -> the one with more requests/s
  if [ -z "$1" ] || awk -v a="${1%% *}" -v b="${2%% *}" 'BEGIN { exit !(b > a) }'; then echo "$2"; else echo "$1"; fi
}
compare() { # OURS_URL WORKERD_URL HOST [LUA_SCRIPT SCRIPT_ARG] -> sets ours_best, workerd_best
  ours_best="" workerd_best=""
  for _ in $(seq "$rounds"); do
    ours_best=$(better "$ours_best" "$(drive "$1" "$3" "${@:4}")")
    workerd_best=$(better "$workerd_best" "$(drive "$2" "$3" "${@:4}")")
  done
}
echo "bench: hello world" >&2
compare "http://127.0.0.1:$ours_port/" "http://127.0.0.1:$hello_port/" hello.bench
read -r o_hello_rps o_hello_p50 o_hello_p99 <<< "$ours_best"
read -r w_hello_rps w_hello_p50 w_hello_p99 <<< "$workerd_best"
echo "bench: JSON + SHA-256" >&2
compare "http://127.0.0.1:$ours_port/" "http://127.0.0.1:$json_port/" json.bench "${post[@]}"
read -r o_json_rps o_json_p50 o_json_p99 <<< "$ours_best"
read -r w_json_rps w_json_p50 w_json_p99 <<< "$workerd_best"

# RSS after the load and a short idle.
sleep 2
sup_rss=$(rss_kb "$ours")
busy_workers=()
for w in $(workers_named "$ours" blueboat-app); do busy_workers+=("$w:$(rss_kb "$w"):$(private_kb "$w")"); done
pool_rss=()
for w in $(workers_named "$ours" blueboat-idle); do pool_rss+=("$(rss_kb "$w")"); done
wd_rss=$(rss_kb "$wd")
stop_pid "$wd"
stop_pid "$ours"

# ---- transports ----
transport_row() { # NAME -> "rps p50 p99" or "n/a (...)"
  local name=$1 port
  port=$(free_port)
  if ! "$bin" serve --help 2>&1 | grep -q -- '--transport'; then echo "n/a (transport not available)"; return; fi
  if ! start_ours "$port" --transport "$name"; then
    stop_pid "$ours_pid"
    echo "n/a (serve --transport $name did not start: $(head -n 1 "$work/ours-$port.log"))"
    return
  fi
  curl -sf -H "Host: hello.bench" "http://127.0.0.1:$port/" >/dev/null
  local best=""
  for _ in $(seq "$rounds"); do best=$(better "$best" "$(drive "http://127.0.0.1:$port/" hello.bench)"); done
  echo "$best"
  stop_pid "$ours_pid"
}
echo "bench: transports" >&2
t_socket=$(transport_row socket)
t_uring=$(transport_row io-uring)

# ---- cold start: first request to each of N never-loaded apps ----
echo "bench: cold start over $cold_apps apps" >&2
cold_line=""
if [ -x bench/cold-start.sh ]; then
  cold_line=$(bench/cold-start.sh 2>/dev/null | grep -E '^cold_start_ms ' | tail -n 1 || true)
fi
cold_store=$work/cold-store
for i in $(seq 1 "$cold_apps"); do
  mkdir -p "$work/cold$i"
  printf 'export default { fetch() { return new Response("cold %s"); } };\n' "$i" > "$work/cold$i/index.js"
  "$bin" deploy "$work/cold$i" --app "cold$i" --host "cold$i.bench" --store "$cold_store" >/dev/null
done
cold_port=$(free_port)
"$bin" serve -l 127.0.0.1:"$cold_port" --store "$cold_store" >"$work/cold.log" 2>&1 &
cold_pid=$!
pids+=("$cold_pid")
wait_http "http://127.0.0.1:$cold_port/_blueboat/health" "" "$cold_pid" || { echo "bench: cold-start server did not start" >&2; cat "$work/cold.log" >&2; exit 1; }
sleep 1 # let a pre-started pool (if any) fill, as it would on a running server
cold=()
for i in $(seq 1 "$cold_apps"); do
  cold+=("$(curl -s -o /dev/null -w '%{time_total}' -H "Host: cold$i.bench" "http://127.0.0.1:$cold_port/")")
done
own_cold=$(printf '%s\n' "${cold[@]}" | sort -n | awk '{ a[NR] = $1 * 1000 } END {
  i50 = int(NR * 0.50 + 0.5); if (i50 < 1) i50 = 1; i99 = int(NR * 0.99 + 0.5); if (i99 < 1) i99 = 1; if (i99 > NR) i99 = NR
  printf "cold_start_ms p50=%.1f p99=%.1f", a[i50], a[i99] }')
[ -n "$cold_line" ] || cold_line="n/a (bench/cold-start.sh printed no result)"
sleep 2 # idle
cold_sup_rss=$(rss_kb "$cold_pid")
idle_rss=()
idle_priv=()
for w in $(workers_named "$cold_pid" blueboat-app); do idle_rss+=("$(rss_kb "$w")"); idle_priv+=("$(private_kb "$w")"); done
stop_pid "$cold_pid"

stats() { # values in kB -> "min/median/max MB"
  printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { if (NR == 0) { print "n/a"; exit }
    printf "%.1f / %.1f / %.1f", a[1] / 1024, a[int((NR + 1) / 2)] / 1024, a[NR] / 1024 }'
}

# ---- the table ----
table() {
  echo "## blueboat-edge vs workerd ($(date -u '+%Y-%m-%d %H:%M UTC'))"
  echo
  echo "Machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'))," \
    "$(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), Linux $(uname -r); wrk, servers and workers share the cores."
  echo "wrk -t$threads -c$conns -d$duration --latency after a $warmup warm-up, loopback; best of $rounds alternating rounds per server. workerd $workerd_version."
  echo
  echo "| case | ours req/s | workerd req/s | ratio req/s | ours p50 ms | workerd p50 ms | ours p99 ms | workerd p99 ms | ratio p99 |"
  echo "|---|---|---|---|---|---|---|---|---|"
  echo "| hello world | $o_hello_rps | $w_hello_rps | $(ratio "$o_hello_rps" "$w_hello_rps") | $o_hello_p50 | $w_hello_p50 | $o_hello_p99 | $w_hello_p99 | $(ratio "$o_hello_p99" "$w_hello_p99") |"
  echo "| POST 2 KB JSON, re-serialise, SHA-256 | $o_json_rps | $w_json_rps | $(ratio "$o_json_rps" "$w_json_rps") | $o_json_p50 | $w_json_p50 | $o_json_p99 | $w_json_p99 | $(ratio "$o_json_p99" "$w_json_p99") |"
  echo
  echo "| transport (ours, hello world) | req/s | p50 ms | p99 ms |"
  echo "|---|---|---|---|"
  for t in socket io-uring; do
    local v; [ "$t" = socket ] && v=$t_socket || v=$t_uring
    if [[ $v == n/a* ]]; then echo "| $t | $v | | |"; else set -- $v; echo "| $t | $1 | $2 | $3 |"; fi
  done
  if [[ $t_socket != n/a* && $t_uring != n/a* ]]; then
    echo
    echo "io-uring / socket req/s: $(ratio "${t_uring%% *}" "${t_socket%% *}")"
  fi
  echo
  echo "| memory | RSS MB | private MB |"
  echo "|---|---|---|"
  echo "| supervisor after the load (2 apps) | $(mb "$sup_rss") | |"
  for entry in "${busy_workers[@]}"; do
    IFS=: read -r p r v <<< "$entry"
    echo "| worker $p after the load, 2 s idle | $(mb "$r") | $(mb "$v") |"
  done
  echo "| pre-started pool workers (bound to no app yet), min / median / max over ${#pool_rss[@]} | $(stats "${pool_rss[@]}") | |"
  echo "| supervisor with $cold_apps apps loaded | $(mb "$cold_sup_rss") | |"
  echo "| each idle app worker, min / median / max over ${#idle_rss[@]} (first request + 2 s idle) | $(stats "${idle_rss[@]}") | $(stats "${idle_priv[@]}") |"
  echo "| workerd (whole process, both apps, after the load) | $(mb "$wd_rss") | |"
  echo
  echo "Cold start, the first request to each of $cold_apps never-loaded apps (curl time_total, loopback):"
  echo
  echo "- one app at a time, the pool of pre-started workers full again before each (bench/cold-start.sh): $cold_line"
  echo "- all $cold_apps back to back with no pause (a pool of 2 is empty after the first two; the rest wait for a worker started for them): $own_cold"
}
mkdir -p bench/results
table | tee bench/results/latest.md
