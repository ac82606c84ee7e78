#!/usr/bin/env bash
# Prints "N passed, M failed" (and skipped) from the TRX files of a run, so CI sees a test count.
set -euo pipefail
dir=${1:-TestResults}
shopt -s nullglob
files=("$dir"/*.trx)
if ((${#files[@]} == 0)); then echo "0 passed, 0 failed"; exit 0; fi
passed=0; failed=0; skipped=0
for f in "${files[@]}"; do
  counters=$(grep -o '<Counters [^>]*>' "$f" | head -1)
  get() { echo "$counters" | grep -o " $1=\"[0-9]*\"" | grep -o '[0-9]*' || echo 0; }
  passed=$((passed + $(get passed)))
  failed=$((failed + $(get failed) + $(get error) + $(get timeout) + $(get aborted)))
  skipped=$((skipped + $(get notExecuted) + $(get inconclusive)))
done
echo "$passed passed, $failed failed, $skipped skipped"
