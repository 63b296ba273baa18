#!/usr/bin/env bash
# srcline.sh - --srcline (issue 13 item 4): the file:line of each traced
# function, from the DWARF of its object (libdw).
#   - report --srcline: main, prog_a, prog_b (the PIE program) and
#     lib_work, lib_inner (its library, at another bias) at the lines
#     grep -n finds their definitions on; clang (no .debug_aranges) and gcc
#     (aranges, five-NOP sites); a file compiled by a relative name is
#     shown by that name (the compile directory taken off);
#   - dump --chrome --srcline: args.srcline of every B event of them;
#     dump --perfetto --srcline: interned source locations, each begin
#     pointing at its function's (protoc --decode);
#   - without -g, with the DWARF stripped after the recording, with a
#     rebuilt binary (another build-id) and with a corrupted .debug_info:
#     no line ("-", no srcline arg), no message, status 0;
#   - without --srcline the outputs are byte for byte what they were.
source "$(cd "$(dirname "$0")" && pwd)/rec_common.bash"
command -v protoc >/dev/null || fail "protoc not installed (Debian's protobuf-compiler)"
PROTO=$ROOT/tests/perfetto

# line FILE FUNC: the line of FUNC's definition in tests/progs/FILE.
line() { grep -nE "^(__attribute__\(\(noinline\)\) )?(static )?[a-z]+ $2\(" "$PROGS/$1" | cut -d: -f1; }
declare -A want=(
	[main]=flame_main.c:$(line flame_main.c main)
	[prog_a]=flame_main.c:$(line flame_main.c prog_a)
	[prog_b]=flame_main.c:$(line flame_main.c prog_b)
	[lib_work]=flame_lib.c:$(line flame_lib.c lib_work)
	[lib_inner]=flame_lib.c:$(line flame_lib.c lib_inner)
)
for f in "${!want[@]}"; do
	[[ ${want[$f]} =~ :[0-9]+$ ]] || fail "no definition of $f found in the sources"
done

# build CC DIR G: flame and libflame.so in DIR, G the debug flag (or
# -g0): the program compiled by its relative name from $ROOT, the library
# by its absolute one from elsewhere.
build() {
	local cc=$1 d=$2 g=$3
	mkdir -p "$d"
	(cd "$d" && $cc -O2 $g -fpatchable-function-entry=5 -fPIC -shared -o "$d/libflame.so" \
		"$PROGS/flame_lib.c")
	(cd "$ROOT" && $cc -O2 $g -fpatchable-function-entry=5 -o "$d/flame" tests/progs/flame_main.c \
		-L"$d" -lflame -Wl,-rpath,"$d")
}

# check_report REPORT PREFIX_MAIN PREFIX_LIB: each function's Source.
check_report() {
	local f got exp
	for f in "${!want[@]}"; do
		got=$(awk -v f="$f" '$NF == f { print $(NF - 1) }' "$1")
		case $f in lib_*) exp=$3${want[$f]} ;; *) exp=$2${want[$f]} ;; esac
		expect_eq "$got" "$exp" "$4: source of $f"
	done
}

for cc in clang gcc; do
	note "$cc -g"
	build $cc "$W/$cc" -g
	rec -o "$W/$cc.data" "$W/$cc/flame" 20 >/dev/null
	"$FNTRACE" report --srcline -i "$W/$cc.data" >"$W/$cc.report" 2>"$W/err"
	expect_eq "$(cat "$W/err")" "" "$cc: report --srcline stderr"
	check_report "$W/$cc.report" tests/progs/ "$PROGS/" "$cc report"
	expect_grep '^  Total time .* Source +Function$' "$W/$cc.report" "$cc: header"

	"$FNTRACE" dump --chrome --srcline -i "$W/$cc.data" -o "$W/$cc.json"
	python3 - "$W/$cc.json" "$PROGS/" <<PY || fail "$cc: chrome args.srcline"
import json, sys
want = {$(for f in "${!want[@]}"; do printf '"%s": "%s", ' "$f" "${want[$f]}"; done)}
ev = json.load(open(sys.argv[1]))["traceEvents"]
seen = {}
for e in ev:
    if e["ph"] == "B":
        s = e.get("args", {}).get("srcline")
        assert s is not None, e
        seen.setdefault(e["name"], set()).add(s)
    if e["ph"] == "E":
        assert "srcline" not in e.get("args", {}), e
for f, w in want.items():
    exp = (sys.argv[2] if f.startswith("lib_") else "tests/progs/") + w
    assert seen.get(f) == {exp}, (f, seen.get(f), exp)
PY
	"$FNTRACE" dump --perfetto --srcline -i "$W/$cc.data" -o "$W/$cc.pftrace"
	protoc --proto_path="$PROTO" --decode=Trace "$PROTO/trace_min.proto" <"$W/$cc.pftrace" \
		>"$W/$cc.txt" || fail "$cc: protoc --decode"
	python3 - "$W/$cc.txt" "$PROGS/" <<PY || fail "$cc: perfetto source locations"
import re, sys
want = {$(for f in "${!want[@]}"; do printf '"%s": "%s", ' "$f" "${want[$f]}"; done)}
t = open(sys.argv[1]).read()
locs = {int(i): (f, fn, int(l)) for i, f, fn, l in re.findall(
    r'source_locations \{\s*iid: (\d+)\s*file_name: "([^"]*)"\s*function_name: "([^"]*)"\s*line_number: (\d+)', t)}
names = dict((int(i), n) for i, n in re.findall(r'event_names \{\s*iid: (\d+)\s*name: "([^"]*)"', t))
for f, w in want.items():
    exp = (sys.argv[2] if f.startswith("lib_") else "tests/progs/") + w
    iid = [i for i, n in names.items() if n == f]
    assert len(iid) == 1 and iid[0] in locs, (f, iid)
    file, fn, l = locs[iid[0]]
    assert fn == f and "%s:%d" % (file, l) == exp, (f, locs[iid[0]], exp)
begins = re.findall(r'type: TYPE_SLICE_BEGIN\s*name_iid: (\d+)\s*track_uuid: \d+\s*(source_location_iid: (\d+))?', t)
assert begins
for n, _, s in begins:
    assert s == n, (n, s)
PY
	# Without --srcline: the same bytes as before the option existed
	# (nothing of DWARF is read).
	"$FNTRACE" dump --chrome -i "$W/$cc.data" | grep -q "\"srcline\"" && fail "$cc: srcline without --srcline"
	"$FNTRACE" report -i "$W/$cc.data" | grep -q Source && fail "$cc: Source without --srcline"
done

# no_lines DATA WHAT: every function's Source is "-", quietly.
no_lines() {
	local rc=0
	"$FNTRACE" report --srcline -i "$1" >"$W/r" 2>"$W/err" || rc=$?
	expect_eq "$rc" 0 "$2: report status"
	expect_eq "$(cat "$W/err")" "" "$2: report stderr"
	for f in "${!want[@]}"; do
		expect_eq "$(awk -v f="$f" '$NF == f { print $(NF - 1) }' "$W/r")" - "$2: source of $f"
	done
	rc=0
	"$FNTRACE" dump --chrome --srcline -i "$1" -o "$W/n.json" 2>"$W/err" || rc=$?
	expect_eq "$rc:$(cat "$W/err")" 0: "$2: dump --chrome"
	grep -q "\"srcline\"" "$W/n.json" && fail "$2: a srcline in the JSON"
	rc=0
	"$FNTRACE" dump --perfetto --srcline -i "$1" -o "$W/n.pftrace" 2>"$W/err" || rc=$?
	expect_eq "$rc:$(cat "$W/err")" 0: "$2: dump --perfetto"
	protoc --proto_path="$PROTO" --decode=Trace "$PROTO/trace_min.proto" <"$W/n.pftrace" >"$W/n.txt"
	grep -q source_location "$W/n.txt" && fail "$2: a source location in the protobuf"
	return 0
}

note "without -g"
build clang "$W/nog" -g0
rec -o "$W/nog.data" "$W/nog/flame" 5 >/dev/null
no_lines "$W/nog.data" "no -g"

note "DWARF stripped after the recording (same build-id)"
build clang "$W/strip" -g
rec -o "$W/strip.data" "$W/strip/flame" 5 >/dev/null
strip --strip-debug "$W/strip/flame" "$W/strip/libflame.so"
no_lines "$W/strip.data" "stripped"
note "a stripped binary recorded"
strip "$W/strip/flame"
rec -o "$W/strip2.data" "$W/strip/flame" 5 >/dev/null
"$FNTRACE" report --srcline -i "$W/strip2.data" >"$W/r" 2>"$W/err"
expect_eq "$(cat "$W/err")" "" "stripped recorded: stderr"
expect_eq "$(awk '$NF == "lib_work" { print $(NF - 1) }' "$W/r")" - "stripped recorded: lib_work"

note "rebuilt after the recording (another build-id)"
build clang "$W/rebuilt" -g
rec -o "$W/rebuilt.data" "$W/rebuilt/flame" 5 >/dev/null
(cd "$ROOT" && clang -O1 -g -DREBUILT -fpatchable-function-entry=5 -o "$W/rebuilt/flame" \
	tests/progs/flame_main.c -L"$W/rebuilt" -lflame -Wl,-rpath,"$W/rebuilt")
clang -O1 -g -DREBUILT -fpatchable-function-entry=5 -fPIC -shared -o "$W/rebuilt/libflame.so" \
	"$PROGS/flame_lib.c"
no_lines "$W/rebuilt.data" "rebuilt"

corrupted=0 found=0
note "corrupted .debug_info, .debug_abbrev, .debug_line, .debug_str_offsets"
for sec in .debug_info .debug_abbrev .debug_line .debug_str_offsets .debug_addr; do
	for seed in 1 2 3; do
		build clang "$W/bad" -g
		rec -o "$W/bad.data" "$W/bad/flame" 3 >/dev/null
		for obj in "$W/bad/flame" "$W/bad/libflame.so"; do
			read -r off size < <(readelf -SW "$obj" | awk -v s="$sec" '
				$2 == s { print $5, $6 } $3 == s { print $6, $7 }' | head -1) || continue
			[ -n "${off:-}" ] || continue
			off=$((16#$off)) size=$((16#$size))
			# Random bytes over a third of the section, seed by seed.
			python3 - "$obj" "$off" "$size" "$seed" <<'PY'
import random, sys
p, off, size, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
r = random.Random(seed)
b = bytearray(open(p, "rb").read())
for _ in range(max(1, size // 3)):
    b[off + r.randrange(size)] = r.randrange(256)
open(p, "wb").write(b)
PY
		done
		rc=0
		"$FNTRACE" report --srcline -i "$W/bad.data" >"$W/r" 2>"$W/err" || rc=$?
		expect_eq "$rc" 0 "$sec seed $seed: report status (stderr: $(head -c 300 "$W/err"))"
		rc=0
		"$FNTRACE" dump --perfetto --srcline -i "$W/bad.data" -o "$W/b.pftrace" 2>"$W/err" || rc=$?
		expect_eq "$rc" 0 "$sec seed $seed: dump status"
		n=$(awk '$NF ~ /^(main|prog_a|prog_b|lib_work|lib_inner)$/ && $(NF - 1) != "-"' "$W/r" | wc -l)
		corrupted=$((corrupted + 1)) found=$((found + n))
	done
done
note "$corrupted corrupted builds: $found of $((corrupted * 5)) functions still had a line"
echo "srcline: ok"
