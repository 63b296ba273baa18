#!/usr/bin/env bash
# bench/patch_speed.sh [NFUNCS...] - time to enable and disable every site
# of generated programs (clang -fpatchable-function-entry=5), medians of 7.
#   O=build bash bench/patch_speed.sh 1000 10000 100000
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
O=${O:-build}; B=$ROOT/$O; W=$B/bench/patch
mkdir -p "$W"
[ $# -gt 0 ] || set -- 1000 10000 100000
for n in "$@"; do
	files=$(( (n + 9999) / 10000 ))
	objs=()
	for f in $(seq 0 $((files - 1))); do
		src=$W/gen$n.$f.c
		lo=$((f * 10000)); hi=$(( (f + 1) * 10000 < n ? (f + 1) * 10000 : n ))
		awk -v lo=$lo -v hi=$hi 'BEGIN { for (i = lo; i < hi; i++) printf "int g%d(int x) { return x * %d + 1; }\n", i, i }' >"$src"
		clang -O1 -fpatchable-function-entry=5 -c "$src" -o "$src.o" &
		objs+=("$src.o")
	done
	wait
	clang -O2 -I"$ROOT/include" -o "$W/speed$n" "$ROOT/bench/patch_speed.c" "${objs[@]}" \
		-L"$B" -lfntrace -Wl,-rpath,"$B"
	printf 'functions=%-7d ' "$n"
	"$W/speed$n" 7
	printf 'functions=%-7d one function: ' "$n"
	"$W/speed$n" 7 g1
done
