#!/bin/bash
# Runs every native Go fuzz target of the module for a short time each.
# Usage: contrib/fuzz.sh [duration]   (default 5s)
#
# Go's fuzzing engine sometimes reports "context deadline exceeded" without
# a failing input when -fuzztime ends while a worker is still busy with a
# large corpus entry; such a run is repeated (at most twice). A real
# failure writes its input to testdata/fuzz and is never repeated.
set -euo pipefail
cd "$(dirname "$0")/.."
t=${1:-5s}
n=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT
while IFS=: read -r file line; do
	pkg=./$(dirname "$file")
	name=$(sed -n "${line}s/^func \(Fuzz[A-Za-z0-9_]*\).*/\1/p" "$file")
	[ -n "$name" ] || continue
	for try in 1 2 3; do
		echo "fuzz $pkg $name ($t)"
		if go test -run '^$' -fuzz "^${name}\$" -fuzztime "$t" "$pkg" >"$log" 2>&1; then
			cat "$log"
			break
		fi
		cat "$log"
		if [ "$try" = 3 ] || grep -q 'Failing input written' "$log" \
			|| ! grep -q 'context deadline exceeded' "$log"; then
			echo "fuzz: $pkg $name failed" >&2
			exit 1
		fi
		echo "fuzz: $pkg $name: the engine's deadline expired with no failing input; again"
	done
	n=$((n+1))
done < <(grep -rn --include='*_test.go' '^func Fuzz' . | cut -d: -f1,2)
echo "fuzz: $n targets run"
