#!/usr/bin/env bash
# bench/run.sh - `make bench`: fntrace side by side with uftrace and LLVM
# XRay in one run; writes BENCHMARKS.md, bench/per_call.svg and
# bench/results.tsv (see bench/bench.py).  Not part of `make test`.
#
#   O=build bash bench/run.sh            (RUNS=9 CALLS=5000000 by default)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export O=${O:-build}
cd "$ROOT"

# The peers, installed only where missing (apt-get update only if needed).
need=()
command -v uftrace >/dev/null || need+=(uftrace)
ls /usr/lib/llvm-14/lib/clang/*/lib/linux/libclang_rt.xray-x86_64.a >/dev/null 2>&1 ||
	need+=(libclang-rt-14-dev)
command -v llvm-xray >/dev/null || command -v llvm-xray-14 >/dev/null || need+=(llvm-14)
command -v valgrind >/dev/null || need+=(valgrind)
command -v clang >/dev/null || need+=(clang)
command -v python3 >/dev/null || need+=(python3)
if [ ${#need[@]} -gt 0 ]; then
	echo "bench: installing ${need[*]}" >&2
	SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
	$SUDO apt-get update
	$SUDO DEBIAN_FRONTEND=noninteractive apt-get install -y "${need[@]}"
fi
# llvm-14 installs llvm-xray-14; the tool is called by its plain name.
if ! command -v llvm-xray >/dev/null; then
	mkdir -p "$ROOT/$O/bench/bin"
	ln -sf "$(command -v llvm-xray-14)" "$ROOT/$O/bench/bin/llvm-xray"
	export PATH="$ROOT/$O/bench/bin:$PATH"
fi

[ -x "$O/fntrace" ] && [ -f "$O/libfntrace.so" ] || { echo "bench: build fntrace first (make)" >&2; exit 1; }
# Live control (issue 11): its own section, included by bench.py.
O=$O bash "$ROOT/bench/live.sh" >/dev/null || echo "bench: bench/live.sh failed" >&2
# Attaching (issue 12): its own section, included by bench.py.
O=$O bash "$ROOT/bench/attach.sh" >/dev/null || echo "bench: bench/attach.sh failed" >&2
exec python3 "$ROOT/bench/bench.py"
