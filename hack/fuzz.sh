#!/usr/bin/env bash
# Runs every fuzz target in the module for a short time each (default 10s).
# go test -fuzz takes one target and one package at a time, hence the loop.
set -euo pipefail
cd "$(dirname "$0")/.."
t="${1:-10s}"
fail=0
while read -r file; do
  pkg="./$(dirname "$file")"
  for fn in $(grep -oE '^func (Fuzz[A-Za-z0-9_]+)' "$file" | awk '{print $2}'); do
    echo "fuzz: $pkg $fn ($t)"
    if ! go test -run '^$' -fuzz "^${fn}\$" -fuzztime "$t" "$pkg" >/tmp/barelb-fuzz.log 2>&1; then
      cat /tmp/barelb-fuzz.log; fail=1
    fi
  done
done < <(git ls-files '*_test.go' | xargs grep -l '^func Fuzz')
exit $fail
