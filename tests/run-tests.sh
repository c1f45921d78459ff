#!/usr/bin/env bash
# Runs the test suite and prints its summary as "N passed, N failed, N skipped".
# Everything runs once (the server on its default transport, io-uring); the end-to-end tests run a
# second time over the socket transport (but the package checks, which do not depend on it). A run that executes no test fails.
set -uo pipefail
cd "$(dirname "$0")/.."
results=tests/.artifacts
rm -rf "$results"
mkdir -p "$results"

# run NAME [dotnet test args...]: one pass, its trx in $results/NAME/
run() {
  local name=$1; shift
  echo "== $name"
  dotnet test tests/Blueboat.Tests/Blueboat.Tests.csproj -c Release -nologo "$@" \
    --logger "trx;LogFileName=results.trx" --logger "console;verbosity=normal" \
    --results-directory "$results/$name" 2>&1 | tee "$results/$name.log" | grep -vE '^\s+Passed '
  return "${PIPESTATUS[0]}"
}

BLUEBOAT_EDGE_TEST_TRANSPORT=io-uring run all-io-uring
status=$?
BLUEBOAT_EDGE_TEST_TRANSPORT=socket run end-to-end-socket --no-build --filter "FullyQualifiedName~Blueboat.Tests.EndToEnd&FullyQualifiedName!~PackageTests"
[ $? -ne 0 ] && status=1

passed=0; failed=0; skipped=0; executed=0; runs=0
for trx in $(find "$results" -name results.trx); do
  runs=$((runs + 1))
  counters=$(grep -o '<Counters [^>]*>' "$trx")
  get() { echo "$counters" | grep -o " $1=\"[0-9]*\"" | grep -o '[0-9]*'; }
  passed=$((passed + $(get passed))); failed=$((failed + $(get failed)))
  skipped=$((skipped + $(get total) - $(get executed))); executed=$((executed + $(get executed)))
done
if [ "$runs" -lt 2 ]; then
  echo "${passed} passed, ${failed} failed, ${skipped} skipped"
  echo "a test run wrote no results" >&2
  exit 1
fi
echo
if [ "$failed" -gt 0 ]; then
  # The failures again next to the summary, each with the start of its message; whole logs are in $results/*.log.
  for log in "$results"/*.log; do
    awk -v run="$(basename "$log" .log)" '/^ +Failed /{n=8; print run ":"} n>0{print; n--}' "$log"
  done
fi
echo "${passed} passed, ${failed} failed, ${skipped} skipped"
if [ "$executed" -eq 0 ]; then
  echo "no test was executed" >&2
  exit 1
fi
exit "$status"
