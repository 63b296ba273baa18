#!/usr/bin/env bash
# rec_cli_errors.sh - every error of the command-line contract gives one
# clear line on stderr, nothing on stdout, and a non-zero status; --help
# works for every subcommand; truncated and corrupted trace files are
# reported (truncated: the complete records are still shown).
source "$(cd "$(dirname "$0")" && pwd)/rec_common.bash"

# err PATTERN CMD...: CMD fails, with exactly one stderr line matching.
err() {
	local pat=$1 rc=0; shift
	"$@" >"$W/out" 2>"$W/err" || rc=$?
	[ $rc -ne 0 ] || fail "$*: exit status 0"
	[ ! -s "$W/out" ] || fail "$*: wrote to stdout: $(head -3 "$W/out")"
	expect_eq "$(wc -l <"$W/err")" 1 "$*: stderr lines ($(cat "$W/err"))"
	expect_grep "^fntrace: .*$pat" "$W/err" "$*"
}

"$BUILD/tests/unit/test_tracefile" --write "$W/good.data"
printf 'hello, world: this is not a trace\n' >"$W/text"
: >"$W/empty"

for cmd in replay report info; do
	err "cannot open '$W/nope.data': No such file or directory" "$FNTRACE" $cmd -i "$W/nope.data"
	err "is not an fntrace trace file" "$FNTRACE" $cmd -i "$W/text"
	err "is not a trace file \(empty\)" "$FNTRACE" $cmd -i "$W/empty"
	err "is not a trace file" "$FNTRACE" $cmd -i "$W"
	err "$cmd: unknown option or missing argument '--bogus'" "$FNTRACE" $cmd --bogus
	err "$cmd: unknown option or missing argument '-z'" "$FNTRACE" $cmd -z
	err "$cmd: unknown option or missing argument '-i'" "$FNTRACE" $cmd -i
	err "$cmd: unexpected argument 'extra'" "$FNTRACE" $cmd -i "$W/good.data" extra
done
# The default file is fntrace.data in the current directory.
(cd "$W" && err "cannot open 'fntrace.data'" "$FNTRACE" replay)
err "report: unknown sort key 'size'" "$FNTRACE" report --sort size -i "$W/good.data"
err "replay: bad thread id 'x'" "$FNTRACE" replay --tid x -i "$W/good.data"

for cmd in record live; do
	err "$cmd: no program given" "$FNTRACE" $cmd
	err "$cmd: no program given" "$FNTRACE" $cmd -o "$W/x.data"
	err "$cmd: unknown option or missing argument '--bogus'" "$FNTRACE" $cmd --bogus true
	err "cannot run 'no-such-program-xyz': command not found" "$FNTRACE" $cmd no-such-program-xyz
	err "cannot run '$W/nope': No such file or directory" "$FNTRACE" $cmd "$W/nope"
	err "cannot run '$W/text': Permission denied" "$FNTRACE" $cmd "$W/text"
	err "$cmd: unknown mode 'fast'" "$FNTRACE" $cmd --mode fast true
	err "$cmd: unknown tracer 'x'" "$FNTRACE" $cmd --tracer x true
	err "$cmd: bad depth 'deep'" "$FNTRACE" $cmd -D deep true
	err "$cmd: bad duration '5parsecs'" "$FNTRACE" $cmd -t 5parsecs true
	err "$cmd: bad buffer size '12Q'" "$FNTRACE" $cmd --buffer-size 12Q true
	err "$cmd: .*'\[bad'" "$FNTRACE" $cmd -F '[bad' true
	err "$cmd: .*'\[bad'" "$FNTRACE" $cmd -N 'ok,[bad' true
done
err "cannot create '$W/no/such/dir/x.data'" "$FNTRACE" record -o "$W/no/such/dir/x.data" true
err "unknown command 'frobnicate'" "$FNTRACE" frobnicate
[ ! -e "$W/x.data" ] || fail "a failed record left a file"

# The runtime is found next to the binary or in ../lib (an installed
# layout); without it, one line says where it was looked for.
mkdir -p "$W/inst/bin" "$W/inst/lib" "$W/alone"
cp "$FNTRACE" "$W/inst/bin/" && cp "$BUILD/libfntrace.so" "$W/inst/lib/"
cp "$FNTRACE" "$W/alone/"
"$W/inst/bin/fntrace" record -o "$W/inst.data" true || fail "installed layout: record"
err "cannot find libfntrace.so next to the fntrace binary" "$W/alone/fntrace" record true

# A program without patch sites: recorded fine, with a hint.
"$FNTRACE" record -o "$W/true.data" true 2>"$W/err" || fail "record true"
expect_grep "^fntrace: no traced call recorded: was 'true' built with the flags of 'fntrace cflags'" \
	"$W/err" "hint for a program without sites"

# --help: usage on stdout, status 0, for every subcommand.
for cmd in record replay report live info cflags; do
	"$FNTRACE" $cmd --help >"$W/out" 2>"$W/err" || fail "$cmd --help: status $?"
	expect_grep "^usage: fntrace $cmd" "$W/out" "$cmd --help"
	[ ! -s "$W/err" ] || fail "$cmd --help wrote to stderr"
done
"$FNTRACE" --help | grep -q '^usage: fntrace COMMAND' || fail "fntrace --help"

# Truncated: a warning line, every complete record shown, status 0.
size=$(stat -c %s "$W/good.data")
head -c $((size - 100)) "$W/good.data" >"$W/cut.data"
"$FNTRACE" replay -i "$W/cut.data" >"$W/out" 2>"$W/err" || fail "replay of a truncated file failed"
expect_grep '^fntrace: warning: .* is truncated at byte' "$W/err" "truncated warning"
expect_eq "$(grep -c 'leaf();' "$W/out")" 3 "truncated: the complete records"
"$FNTRACE" info -i "$W/cut.data" >"$W/out" 2>/dev/null
expect_grep 'duration     : unknown' "$W/out" "truncated: no END record"
head -c 40 "$W/good.data" >"$W/tiny.data"
err "is truncated before any data" "$FNTRACE" report -i "$W/tiny.data"

# Corrupted: a flipped byte in a record is caught by its checksum.
cp "$W/good.data" "$W/bad.data"
printf '\x55' | dd of="$W/bad.data" bs=1 seek=$((size - 200)) conv=notrunc status=none
err "is corrupted" "$FNTRACE" replay -i "$W/bad.data"
# A newer format version is refused by name.
cp "$W/good.data" "$W/v9.data"
printf '\x09' | dd of="$W/v9.data" bs=1 seek=8 conv=notrunc status=none
err "is trace format version 9; this fntrace reads version 1" "$FNTRACE" info -i "$W/v9.data"

# A recording cut short for real: fntrace itself killed mid-run.
build_rec rc clang -O2
"$FNTRACE" record -o "$W/k.data" "$W/rc" count 100000000 >/dev/null 2>"$W/k.err" &
rpid=$!
sleep 1
cpid=$(pgrep -P $rpid || true)
[ -n "$cpid" ] || fail "the recording ended before it could be killed"
kill -9 $rpid
wait $rpid 2>/dev/null || true
# The program notices its reader is gone (within ~0.1 s), says so once and
# runs on untraced; we stop it here.
for _ in $(seq 50); do grep -q 'recording stopped' "$W/k.err" && break; sleep 0.1; done
kill -9 $cpid 2>/dev/null || true
expect_eq "$(grep -c 'fntrace: the fntrace process is gone: recording stopped' "$W/k.err")" 1 \
	"the program says once that its reader is gone"
"$FNTRACE" report -i "$W/k.data" >"$W/out" 2>"$W/err" || fail "report of a killed recording"
expect_grep 'warning: .*(truncated|interrupted)' "$W/err" "killed recording: warning"
[ "$(calls_of "$W/out" leaf)" -gt 0 ] || fail "killed recording: no calls recovered"
# The next recording removes the region the killed one left behind.
"$FNTRACE" record -o "$W/next.data" true 2>/dev/null
ls /dev/shm/fntrace-$rpid-* >/dev/null 2>&1 && fail "stale region of a dead fntrace not removed"
echo "rec_cli_errors: ok"
