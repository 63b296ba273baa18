#!/usr/bin/env bash
# tests/run.sh - runs every test tier and prints "N passed, N failed".
#
#   unit:   $O/tests/unit/*     (built from tests/unit/*.c)
#   stress: $O/tests/stress/*   (built from tests/stress/*.c)
#   tsan:   $O/tsan/*           (ring tests under ThreadSanitizer)
#   e2e:    tests/e2e/*.sh      (each builds what it needs under $O/e2e)
#
# Each test runs with a time limit; its output is kept in $O/test-logs and
# shown when it fails.  TESTS=glob limits the run to matching names.
set -u
O=${O:-build}
export O CC=${CC:-gcc} SAN=${SAN:-}
export FNT_ROOT=$(cd "$(dirname "$0")/.." && pwd)
logs=$O/test-logs
mkdir -p "$logs"
pass=0 fail=0 failed=()

run() {
	local name=$1 limit=$2; shift 2
	case "$name" in ${TESTS:-*}) ;; *) return ;; esac
	local log=$logs/$(echo "$name" | tr '/' '_').log start=$SECONDS rc
	timeout -k 10 "$limit" "$@" >"$log" 2>&1
	rc=$?
	if [ $rc -eq 0 ]; then
		pass=$((pass + 1))
		printf 'PASS %-40s %3ds\n' "$name" $((SECONDS - start))
	else
		fail=$((fail + 1))
		failed+=("$name")
		printf 'FAIL %-40s %3ds (exit %d)\n' "$name" $((SECONDS - start)) $rc
		tail -n 30 "$log" | sed 's/^/    | /'
	fi
}

for t in "$O"/tests/unit/*; do [ -x "$t" ] && run "unit/${t##*/}" 300 "$t"; done
for t in "$O"/tests/stress/*; do [ -x "$t" ] && run "stress/${t##*/}" 600 "$t"; done
# ThreadSanitizer builds of the ring tests (make builds them unless SAN=1).
if [ -z "$SAN" ]; then
	for t in "$O"/tsan/*; do
		[ -x "$t" ] && [ "${t%.log}" = "$t" ] && run "tsan/${t##*/}" 600 env TSAN_OPTIONS=halt_on_error=1 "$t"
	done
fi
for t in tests/e2e/*.sh; do [ "${t##*/}" = lib.sh ] && continue; [ -f "$t" ] && run "e2e/$(basename "$t" .sh)" 900 bash "$t"; done

[ ${#failed[@]} -gt 0 ] && printf 'failed: %s\n' "${failed[*]}"
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
