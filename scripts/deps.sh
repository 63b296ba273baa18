#!/usr/bin/env bash
# scripts/deps.sh - the Debian packages "make demo", "make test" and
# "make bench" need (mk/deps.mk runs it before they build anything).
#
#   scripts/deps.sh SET...         check, and install what is missing
#   scripts/deps.sh --list SET...  print the packages of the sets
#
# SET is build, demo, test or bench.  Nothing missing: silent, exit 0,
# nothing but dpkg-query is run (no apt, no network).  Something missing,
# as root with apt-get: "apt-get update" once, then "apt-get install" of
# exactly the missing packages, noninteractive (CI runs as root with no
# stdin).  Otherwise it stops (exit 1) with the one command to run.
#
# Environment: FNT_DEPS_EXTRA adds package names (the tests inject a
# missing one); FNT_DEPS_SKIP=1 checks nothing (a machine set up by hand).
# tests/e2e/deps.sh checks that the lists cover every header the sources
# include, every library they link and every tool the tests run.
set -euo pipefail

# libdw-dev: the CLI reads DWARF for --srcline (src/cli/srcline.c).
# Recommends are not installed: libc6-dev (gcc only recommends it) and
# libstdc++-12-dev (clang++'s headers, g++ depends on it) are listed.
pkgs_build=(make gcc libc6-dev libelf-dev libdw-dev binutils)
pkgs_demo=("${pkgs_build[@]}" clang)
# procps: pgrep; spin: tests/e2e/model.sh; g++: tests/e2e/userproj.sh;
# googletest (its sources) and cmake: tests/e2e/real_gtest.sh; pkgconf and
# man-db: tests/e2e/install.sh; libclang-rt-14-dev: libFuzzer and the
# sanitizers' runtimes for clang (mk/fuzz.mk, tests/e2e/fuzz.sh);
# protobuf-compiler: protoc decodes dump --perfetto (tests/e2e/dump_perfetto.sh);
# chromium and nodejs (whose npm the machine image has from nodejs itself; Debian's npm
# package would conflict with it): the browser tests (tests/e2e/browser.sh) drive
# Debian's chromium with playwright-core, installed by npm from
# tests/browser/package-lock.json.  gdb and strace: the attach tests
# (tests/e2e/attach_faults.sh stops fntrace with gdb; attach_refuse.sh
# attaches to a process strace or gdb already traces).  valgrind: the
# instructions a traced call costs (tests/e2e/hot_cost.sh).
pkgs_test=("${pkgs_demo[@]}" g++ libstdc++-12-dev procps spin googletest cmake pkgconf man-db
	libclang-rt-14-dev python3 protobuf-compiler chromium nodejs gdb strace valgrind)
# bench/run.sh: uftrace, LLVM XRay (llvm-14, libclang-rt-14-dev),
# valgrind, and python3 for the report.
pkgs_bench=("${pkgs_demo[@]}" python3 uftrace valgrind llvm-14 libclang-rt-14-dev)

list=0
[ "${1:-}" = --list ] && { list=1; shift; }
[ $# -gt 0 ] || set -- test
want=()
for set in "$@"; do
	case $set in
	build) want+=("${pkgs_build[@]}") ;;
	demo) want+=("${pkgs_demo[@]}") ;;
	test) want+=("${pkgs_test[@]}") ;;
	bench) want+=("${pkgs_bench[@]}") ;;
	*) echo "deps.sh: unknown set '$set' (build, demo, test or bench)" >&2; exit 2 ;;
	esac
done
# shellcheck disable=SC2206
want+=(${FNT_DEPS_EXTRA:-})
# Each name once, in order.
mapfile -t want < <(printf '%s\n' "${want[@]}" | awk '!seen[$0]++')
if [ $list -eq 1 ]; then
	printf '%s\n' "${want[@]}"
	exit 0
fi
[ "${FNT_DEPS_SKIP:-}" = 1 ] && exit 0

if ! command -v dpkg-query >/dev/null 2>&1; then
	echo "fntrace: not a Debian system (no dpkg-query); make sure these are installed: ${want[*]}" >&2
	exit 0
fi
# missing: the packages of $want that dpkg does not list as installed.
missing_now() {
	local p
	for p in "${want[@]}"; do
		# A package whose triggers are pending (another apt run is
		# under way) is installed and usable.
		case $(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null) in
		installed | triggers-pending | triggers-awaited) ;;
		*) echo "$p" ;;
		esac
	done
}
mapfile -t missing < <(missing_now)
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
	cmd="apt-get install ${missing[*]}"
	[ "$(id -u)" -ne 0 ] && cmd="sudo $cmd"
	echo "fntrace: missing Debian packages: ${missing[*]}" >&2
	echo "run:  $cmd" >&2
	exit 1
fi
echo "fntrace: installing the missing Debian packages: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq </dev/null
apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null
mapfile -t missing < <(missing_now)
if [ ${#missing[@]} -gt 0 ]; then
	echo "fntrace: apt-get install did not install: ${missing[*]}" >&2
	exit 1
fi
