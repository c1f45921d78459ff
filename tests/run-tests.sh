#!/usr/bin/env bash
# Runs the test suite and prints its summary as "N passed, N failed, N skipped".
# A run that executes no test fails.
set -uo pipefail
cd "$(dirname "$0")/.."
results=tests/.artifacts
rm -rf "$results"
mkdir -p "$results"

dotnet test tests/Blueboat.Tests/Blueboat.Tests.csproj -c Release -nologo \
  --logger "trx;LogFileName=results.trx" --logger "console;verbosity=normal" \
  --results-directory "$results" 2>&1 | tee "$results/test.log" | grep -vE '^\s+Passed ' 
status=${PIPESTATUS[0]}

trx=$(find "$results" -name results.trx | head -n 1)
if [ -z "$trx" ]; then
  echo "0 passed, 0 failed"
  echo "no test results were written" >&2
  exit 1
fi
counters=$(grep -o '<Counters [^>]*>' "$trx")
get() { echo "$counters" | grep -o " $1=\"[0-9]*\"" | grep -o '[0-9]*'; }
passed=$(get passed); failed=$(get failed); total=$(get total); executed=$(get executed)
skipped=$(( total - executed ))
echo
echo "${passed} passed, ${failed} failed, ${skipped} skipped"
if [ "${executed:-0}" -eq 0 ]; then
  echo "no test was executed" >&2
  exit 1
fi
exit "$status"
