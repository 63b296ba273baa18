#!/usr/bin/env bash
# dump_perfetto.sh - 'fntrace dump --perfetto' (issue 13): the output
# decodes with protoc --decode=Trace against tests/perfetto/trace_min.proto
# (written from Perfetto's documented field numbers), and for the tricky
# control flows and both tracers its slices per function equal report's
# calls, nested on every track, names interned, incremental state cleared
# on the first packet (dump_perfetto.py).
source "$(cd "$(dirname "$0")" && pwd)/rec_common.bash"
command -v protoc >/dev/null || fail "protoc not installed (Debian's protobuf-compiler)"
PROTO=$ROOT/tests/perfetto
decode() { protoc --proto_path="$PROTO" --decode=Trace "$PROTO/trace_min.proto" <"$1" >"$2" ||
	fail "protoc --decode failed on $1"; }

build_rec calls clang -O2
clang++ -O2 -g -fpatchable-function-entry=5 -o "$W/exc" "$PROGS/rec_exc.cc"
for tracer in function_graph function; do
	for args in "count 300" "threads 5 40" "longjmp 20" "deepjmp 6" "coro 50" "signal 30" \
		    "pexit 5" "fork 30" "exc 40"; do
		note "$tracer $args"
		if [ "$args" = "exc 40" ]; then prog=$W/exc; set -- 40; else prog=$W/calls; set -- $args; fi
		rec --tracer $tracer -o "$W/t.data" "$prog" "$@" >/dev/null
		"$FNTRACE" report -i "$W/t.data" >"$W/report"
		"$FNTRACE" dump --perfetto -i "$W/t.data" -o "$W/t.pftrace"
		decode "$W/t.pftrace" "$W/t.txt"
		python3 "$ROOT/tests/e2e/dump_perfetto.py" "$W/t.txt" "$W/report" || fail "$tracer $args"
	done
done
# Unwound frames are marked on their end: jump_a, jump_b and jump_c, each time.
rec -o "$W/j.data" "$W/calls" longjmp 3 >/dev/null
"$FNTRACE" dump --perfetto -i "$W/j.data" -o "$W/j.pftrace"
decode "$W/j.pftrace" "$W/j.txt"
expect_eq "$(grep -c 'name: "unwound"' "$W/j.txt")" 9 "longjmp 3: unwound ends"
# The protobuf is much smaller than the JSON of the same trace.
rec -o "$W/c.data" "$W/calls" count 20000 >/dev/null
pb=$("$FNTRACE" dump --perfetto -i "$W/c.data" | wc -c)
js=$("$FNTRACE" dump --chrome -i "$W/c.data" | wc -c)
note "count 20000: perfetto $pb bytes, chrome $js bytes"
[ $((pb * 3)) -lt "$js" ] || fail "perfetto output ($pb bytes) not 3 times smaller than JSON ($js)"
echo "dump_perfetto: ok"
