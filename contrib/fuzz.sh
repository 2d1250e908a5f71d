#!/bin/bash
# Runs every native Go fuzz target of the module for a short time each.
# Usage: contrib/fuzz.sh [duration]   (default 5s)
set -euo pipefail
cd "$(dirname "$0")/.."
t=${1:-5s}
n=0
while IFS=: read -r file line; do
	pkg=./$(dirname "$file")
	name=$(sed -n "${line}s/^func \(Fuzz[A-Za-z0-9_]*\).*/\1/p" "$file")
	[ -n "$name" ] || continue
	echo "fuzz $pkg $name ($t)"
	go test -run '^$' -fuzz "^${name}\$" -fuzztime "$t" "$pkg"
	n=$((n+1))
done < <(grep -rn --include='*_test.go' '^func Fuzz' . | cut -d: -f1,2)
echo "fuzz: $n targets run"
