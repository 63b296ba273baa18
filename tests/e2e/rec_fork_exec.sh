#!/usr/bin/env bash
# rec_fork_exec.sh - children and exec'd programs are traced into the same
# file with their own pids (default), or not at all (--no-follow-fork).
source "$(cd "$(dirname "$0")" && pwd)/rec_common.bash"

build_rec rc clang -O2
n=300
for tracer in function_graph function; do
	note "fork $tracer"
	"$FNTRACE" record --tracer $tracer -o "$W/f.data" "$W/rc" fork $n >"$W/out"
	"$FNTRACE" report -i "$W/f.data" >"$W/report"
	# leaf: n before the fork + n under mid in each process; mid: n each.
	expect_eq "$(calls_of "$W/report" leaf)" $((3 * n)) "fork: leaf"
	expect_eq "$(calls_of "$W/report" mid)" $((2 * n)) "fork: mid"
	expect_eq "$(info_field "$W/f.data" processes)" 2 "fork: processes"
	expect_eq "$(info_field "$W/f.data" threads)" 2 "fork: threads"
	# Each process's thread shows its own calls.
	"$FNTRACE" report --threads -i "$W/f.data" >"$W/threads"
	expect_eq "$(grep -c '^# thread' "$W/threads")" 2 "fork: per-thread tables"

	note "exec $tracer"
	"$FNTRACE" record --tracer $tracer -o "$W/e.data" "$W/rc" exec $n >"$W/out"
	"$FNTRACE" report -i "$W/e.data" >"$W/report"
	expect_counts "$W/out" "$W/report"
	# The exec'd image is a second process image with the same pid.
	expect_eq "$(info_field "$W/e.data" processes)" 1 "exec: one pid"
	expect_eq "$(calls_of "$W/report" main)" 2 "exec: main of both images"
done

note "--no-follow-fork"
"$FNTRACE" record --no-follow-fork -o "$W/nf.data" "$W/rc" fork $n >"$W/out"
"$FNTRACE" report -i "$W/nf.data" >"$W/report"
expect_eq "$(calls_of "$W/report" leaf)" $((2 * n)) "no-follow-fork: leaf of the parent only"
expect_eq "$(calls_of "$W/report" mid)" $n "no-follow-fork: mid of the parent only"
expect_eq "$(info_field "$W/nf.data" processes)" 1 "no-follow-fork: processes"

# A shell that runs the program: the exec'd grandchild is traced too.
"$FNTRACE" record -o "$W/sh.data" sh -c "'$W/rc' count 10; '$W/rc' count 5" >"$W/out"
"$FNTRACE" report -i "$W/sh.data" >"$W/report"
expect_eq "$(calls_of "$W/report" mid)" 15 "children of a shell"
expect_eq "$(calls_of "$W/report" main)" 2 "children of a shell: main"
# Many short processes (a script): more than a thousand images.
"$FNTRACE" record -o "$W/many.data" sh -c \
	"i=0; while [ \$i -lt 1100 ]; do '$W/rc' count 1 >/dev/null; i=\$((i+1)); done"
"$FNTRACE" report -i "$W/many.data" >"$W/report"
expect_eq "$(calls_of "$W/report" main)" 1100 "1100 processes: main"
expect_eq "$(calls_of "$W/report" mid)" 1100 "1100 processes: mid"
expect_eq "$(info_field "$W/many.data" processes)" 1101 "1100 processes and the shell"
echo "rec_fork_exec: ok"
