#!/usr/bin/env bash
# rec_sigint.sh - how a recording ends without the program's help.
# SIGINT to fntrace alone (Ctrl-C is sent to the whole group; this is the
# case it would be sent to fntrace only) ends the recording promptly with a
# complete trace that says it was stopped, status 130, and leaves the
# program running (it was once ignored: fntrace waited for the program).
# A program that daemonizes (double fork, setsid) ends the recording when
# it exits: fntrace, the subreaper, once waited for the daemon's 30 s.
source "$(cd "$(dirname "$0")" && pwd)/rec_common.bash"

cat >"$W/prog.c" <<'C'
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
volatile long sink;
__attribute__((noinline)) void work(long i) { sink += i; }
__attribute__((noinline)) void nap(void) { usleep(1000); }
int main(int argc, char **argv)
{
	/* A background job of a script starts with SIGINT ignored; from a
	 * terminal, Ctrl-C kills. */
	signal(SIGINT, SIG_DFL);
	if (argc > 1 && strcmp(argv[1], "daemon") == 0) {
		if (fork() > 0)
			return 0;	/* the program: exits at once */
		setsid();
		if (fork() > 0)
			_exit(0);
		FILE *f = fopen(argv[2], "w");	/* the daemon */
		fprintf(f, "%d\n", (int)getpid());
		fclose(f);
		for (int i = 0; i < 30000; i++) {
			work(i);
			nap();
		}
		return 0;
	}
	for (int i = 0; i < 10000; i++) {	/* about 10 s */
		work(i);
		nap();
	}
	return 0;
}
C
clang -O1 -g -fpatchable-function-entry=5 -o "$W/prog" "$W/prog.c"

# SIGINT to fntrace alone.
"$FNTRACE" record -o "$W/int.data" "$W/prog" 2>"$W/int.err" &
fpid=$!
sleep 1
ppid=$(pgrep -P $fpid -x prog) || fail "the program is not running under fntrace"
kill -INT $fpid
start=$SECONDS rc=0
for _ in $(seq 50); do kill -0 $fpid 2>/dev/null || break; sleep 0.1; done
kill -0 $fpid 2>/dev/null && { kill -9 $ppid $fpid; fail "fntrace still runs 5 s after SIGINT"; }
wait $fpid || rc=$?
cat "$W/int.err"
alive=0
kill -0 "$ppid" 2>/dev/null && alive=1
kill -9 "$ppid" 2>/dev/null || true
expect_eq "$rc" 130 "fntrace's status when SIGINT stopped the recording"
expect_eq "$alive" 1 "the program goes on after the recording is stopped"
expect_grep "^fntrace: recording stopped by SIGINT; '.*prog' \(pid $ppid\) goes on untraced" "$W/int.err" "stderr"
"$FNTRACE" info -i "$W/int.data" >"$W/int.info" 2>"$W/int.infoerr" ||
	{ cat "$W/int.infoerr" >&2; fail "info after SIGINT"; }
[ ! -s "$W/int.infoerr" ] || { cat "$W/int.infoerr" >&2; fail "info after SIGINT: warnings"; }
expect_grep "^# exit status  : unknown: the recording was stopped by signal 2" "$W/int.info" "info"
expect_grep "^# lost events  : 0$" "$W/int.info" "info: nothing lost"
"$FNTRACE" report -i "$W/int.data" >"$W/int.report" 2>&1
n=$(calls_of "$W/int.report" work)
[ "$n" -gt 100 ] || fail "only $n calls of work recorded in a second"

# A daemon left behind.
rm -f "$W/daemon.pid"
start=$SECONDS rc=0
timeout 20 "$FNTRACE" record -o "$W/d.data" "$W/prog" daemon "$W/daemon.pid" 2>"$W/d.err" || rc=$?
took=$((SECONDS - start))
cat "$W/d.err"
for _ in $(seq 50); do [ -s "$W/daemon.pid" ] && break; sleep 0.1; done
dpid=$(cat "$W/daemon.pid" 2>/dev/null || true)
[ -n "$dpid" ] && kill -9 "$dpid" 2>/dev/null || true
expect_eq "$rc" 0 "fntrace's status when the program leaves a daemon"
[ $took -le 5 ] || fail "fntrace waited $took s for a daemon in another session"
expect_grep "^fntrace: '.*prog' exited; 1 process it left in another session \(pid [0-9]+\) is not recorded further" \
	"$W/d.err" "stderr"
"$FNTRACE" info -i "$W/d.data" >"$W/d.info" 2>&1 || { cat "$W/d.info" >&2; fail "info on the daemon's trace"; }
expect_grep "^# exit status  : 0" "$W/d.info" "info"

# --follow-daemons: the recording waits for the daemon, and ends with it.
rm -f "$W/daemon.pid"
"$FNTRACE" record --follow-daemons -o "$W/f.data" "$W/prog" daemon "$W/daemon.pid" 2>"$W/f.err" &
fpid=$!
for _ in $(seq 50); do [ -s "$W/daemon.pid" ] && break; sleep 0.1; done
dpid=$(cat "$W/daemon.pid" 2>/dev/null || true)
sleep 1.5
still=0
kill -0 $fpid 2>/dev/null && still=1
[ -n "$dpid" ] && kill -9 "$dpid" 2>/dev/null || true
for _ in $(seq 50); do kill -0 $fpid 2>/dev/null || break; sleep 0.1; done
kill -0 $fpid 2>/dev/null && { kill -9 $fpid; fail "--follow-daemons: fntrace still runs after the daemon died"; }
rc=0
wait $fpid || rc=$?
expect_eq "$still" 1 "--follow-daemons: fntrace running while the daemon lives"
expect_eq "$rc" 0 "--follow-daemons: fntrace's status"
"$FNTRACE" report -i "$W/f.data" >"$W/f.report" 2>&1
[ "$(calls_of "$W/f.report" work)" -gt 100 ] || fail "--follow-daemons: the daemon's calls are not recorded"

# Ctrl-C from a terminal reaches the whole group: the program ends of it
# and is recorded whole, its status (130 too) included.
setsid "$FNTRACE" record -o "$W/g.data" "$W/prog" 2>"$W/g.err" &
spid=$!
sleep 1
kill -INT -- -$spid
for _ in $(seq 50); do kill -0 $spid 2>/dev/null || break; sleep 0.1; done
kill -0 $spid 2>/dev/null && { kill -9 -- -$spid; fail "group SIGINT: fntrace still runs"; }
rc=0
wait $spid || rc=$?
expect_eq "$rc" 130 "group SIGINT: status"
! grep -q "goes on untraced" "$W/g.err" || fail "group SIGINT: the program was said to go on"
"$FNTRACE" info -i "$W/g.data" >"$W/g.info" 2>&1
expect_grep "^# exit status  : killed by signal 2" "$W/g.info" "group SIGINT: info"
echo "rec_sigint: ok"
