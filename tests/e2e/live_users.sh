#!/usr/bin/env bash
# live_users.sh - who may control a running program.
#
#  - A program root started with 'fntrace run' cannot be controlled by
#    another user: 'ctl -p', 'record -p' (no file made) and 'ctl --stop'
#    fail with one line and a non-zero status, 'ps' does not list it, and a
#    connection of the user's own to the socket is refused: by the file
#    system (directory 0700, socket 0600), and, reached through a link the
#    user may use, by the agent itself (peer credentials), which says so
#    and closes.  The program is unharmed.
#  - That user's own program ('fntrace run' by the user) is the user's to
#    control and record; root may too.
#  - A /tmp/fntrace-UID made by someone else, or with mode 0777, or that is
#    a symlink or a file, or one the runtime cannot write to: the runtime
#    makes no endpoint and says so in one line; the program runs as ever.
#    Checked for a fresh uid (no such directory before).
#
# Needs root (to switch users); the user fntrace-live is created when
# missing and removed at the end if this test created it.
source "$(cd "$(dirname "$0")" && pwd)/rec_common.bash"

[ "$(id -u)" = 0 ] || fail "this test needs root"
U=fntrace-live
made_user=0
if ! id -u "$U" >/dev/null 2>&1; then
	useradd --system --no-create-home --shell /usr/sbin/nologin "$U"
	made_user=1
fi
uid=$(id -u "$U") gid=$(id -g "$U")
# (Arrays, not functions, for what runs in the background: $! must be
# the program's pid, not a subshell's.)
SU=(setpriv --reuid="$uid" --regid="$gid" --clear-groups --)
as_user() { "${SU[@]}" "$@"; }
# A uid nobody has: no passwd entry, no process, no directory in /tmp.
fresh=$((61000 + RANDOM % 3000))
while getent passwd "$fresh" >/dev/null || [ -e "/tmp/fntrace-$fresh" ] || pgrep -U "$fresh" >/dev/null; do
	fresh=$((fresh + 1))
done
SF=(setpriv --reuid="$fresh" --regid="$fresh" --clear-groups --)
as_fresh() { "${SF[@]}" "$@"; }
udir_existed=0
[ -e "/tmp/fntrace-$uid" ] && udir_existed=1

D=$(mktemp -d /tmp/fntrace-users.XXXXXX)
KILL_AT_EXIT=
LINK_DIR=
cleanup() {
	set +e
	for p in $KILL_AT_EXIT; do kill -KILL "$p" 2>/dev/null; done
	# Whatever a failed case left running as either user.
	pkill -KILL -U "$uid" 2>/dev/null
	pkill -KILL -U "$fresh" 2>/dev/null
	if [ -n "$LINK_DIR" ]; then
		chmod 0600 "/tmp/fntrace-0/$P.sock" 2>/dev/null
		rm -rf "$LINK_DIR"
	fi
	rm -rf "$D" "/tmp/fntrace-$fresh"
	[ $udir_existed = 1 ] || rm -rf "/tmp/fntrace-$uid"
	if [ $made_user = 1 ]; then
		for i in 1 2 3 4 5; do
			userdel "$U" 2>/dev/null && break
			sleep 0.5
		done
		id -u "$U" >/dev/null 2>&1 && echo "live_users: could not remove user $U" >&2
	fi
	return 0
}
trap cleanup EXIT

# Everything the users run lives where every user can read it (the build
# tree may not be).
chmod 755 "$D"
cp "$BUILD/libfntrace.so" "$BUILD/fntrace" "$D/"
chmod 755 "$D/fntrace" "$D/libfntrace.so"
cat >"$D/target.c" <<'C'
/* target: traced calls in a loop until SIGUSR1, then "result N bad B". */
#include <signal.h>
#include <stdio.h>
#include <time.h>
#define NOINLINE __attribute__((noinline))
static volatile sig_atomic_t quit;
/* The empty asm with a memory clobber: the compiler may not take mix (and
 * its callers) for pure functions and fold or hoist their calls. */
NOINLINE unsigned long mix(unsigned long x)
{
	x ^= x >> 31;
	x *= 0x9e3779b97f4a7c15ul;
	__asm__ volatile("" : "+r"(x) : : "memory");
	return x ^ (x >> 29);
}
NOINLINE unsigned long round_(void)
{
	unsigned long h = 1;

	for (long i = 0; i < 100000; i++)
		h = mix(h + (unsigned long)i);
	return h;
}
static void on_usr1(int s) { (void)s; quit = 1; }
int main(void)
{
	unsigned long first;
	long n = 0, bad = 0;

	signal(SIGUSR1, on_usr1);
	first = round_();
	while (!quit) {
		bad += round_() != first;
		n++;
		nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
	}
	printf("result %lx rounds %ld bad %ld\n", first, n, bad);
	return 0;
}
C
clang -O1 -g -fpatchable-function-entry=5 -o "$D/target" "$D/target.c"
chmod 755 "$D/target"
want=$(timeout -s USR1 0.3 "$D/target" | sed 's/ rounds.*//') || true
[ -n "$want" ] || fail "the untraced run printed no result"
mkdir "$D/u"
chown "$U:" "$D/u"

ctl_field() { "$FNTRACE" ctl -p "$1" 2>/dev/null | awk -v k="$2" '$1 == k { print $2 }'; }
wait_for() {
	local n=$(($1 * 20)) s=$1 what=$2; shift 2
	for ((i = 0; i < n; i++)); do "$@" && return 0; sleep 0.05; done
	fail "$what: not within $s s"
}
answers() { "$FNTRACE" ctl -p "$1" >/dev/null 2>&1; }
# refused WHAT PATTERN CMD...: a non-zero status and one line "fntrace: "
# matching PATTERN on stderr, nothing on stdout.
refused() {
	local what=$1 pat=$2 rc=0; shift 2
	"$@" >"$W/r.out" 2>"$W/r.err" || rc=$?
	[ $rc -ne 0 ] || fail "$what: status 0"
	[ -s "$W/r.out" ] && { cat "$W/r.out"; fail "$what: wrote to stdout"; }
	expect_eq "$(wc -l <"$W/r.err")" 1 "$what: lines on stderr ($(tr '\n' '|' <"$W/r.err"))"
	expect_grep "^fntrace: .*$pat" "$W/r.err" "$what"
	note "$what: $(cat "$W/r.err")"
}
# end_target PID WHAT OUT: SIGUSR1; status 0; the untraced result.
end_target() {
	local rc=0
	kill -USR1 "$1"
	wait "$1" || rc=$?
	expect_eq "$rc" 0 "$2: status"
	expect_grep "^$want rounds [0-9]+ bad 0\$" "$3" "$2: result"
}
# connect_as WHO PATH: a raw connection, as WHO (a setpriv prefix or
# nothing); prints "refused ERRNO" or "connected", then what came back.
connect_as() {
	local who=$1 path=$2
	$who /usr/bin/python3 - "$path" <<'PY'
import socket, struct, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
try:
    s.connect(sys.argv[1])
except OSError as e:
    print("refused", e.errno)
    sys.exit(0)
print("connected")
s.settimeout(5)
try:
    s.sendall(struct.pack("<IHHII", 0x43544e46, 1, 2, 0, 9))   # STATUS
except OSError:
    pass
data = b""
while True:
    try:
        b = s.recv(65536)
    except OSError:
        break
    if not b:
        break
    data += b
if len(data) >= 16:
    m, v, t, l, q = struct.unpack("<IHHII", data[:16])
    print("type %#x seq %d" % (t, q))
    print(data[16:16 + l].decode(errors="replace"), end="")
print("closed" if len(data) < 16 or len(data) == 16 + l else "more")
PY
}

# --- root's program, another user -----------------------------------------
note "root's program, user $U ($uid)"
"$D/fntrace" run "$D/target" >"$W/root.out" 2>"$W/root.err" &
P=$!
KILL_AT_EXIT="$P"
wait_for 10 "the agent of $P answers" answers "$P"
refused "$U: ctl -p" "process $P belongs to uid 0: permission denied" as_user "$D/fntrace" ctl -p "$P"
refused "$U: ctl -p --stop" "permission denied" as_user "$D/fntrace" ctl -p "$P" --stop
refused "$U: record -p" "process $P belongs to uid 0: permission denied" \
	as_user "$D/fntrace" record -p "$P" -o "$D/u/x.data" -d 500ms
[ -e "$D/u/x.data" ] && fail "$U: the refused record -p made its file"
ls "$D/u" | grep -q . && fail "$U: the refused record -p left a file: $(ls "$D/u")"
as_user "$D/fntrace" ps >"$W/ps.out" 2>&1 || true
grep -qE "^ *$P " "$W/ps.out" && { cat "$W/ps.out"; fail "$U: fntrace ps lists root's process"; }
connect_as "as_user" "/tmp/fntrace-0/$P.sock" >"$W/raw.out"
expect_grep '^refused 13$' "$W/raw.out" "$U: a raw connection to root's socket (EACCES)"
# Past the file system: a link the user may follow, to a socket the user
# may write (the directory stays 0700: nobody else gets in by it).
LINK_DIR=$(mktemp -d /tmp/fntrace-users-link.XXXXXX)
chmod 755 "$LINK_DIR"
ln "/tmp/fntrace-0/$P.sock" "$LINK_DIR/s"
chmod 0666 "$LINK_DIR/s"
connect_as "as_user" "$LINK_DIR/s" >"$W/raw2.out"
chmod 0600 "$LINK_DIR/s"
rm -rf "$LINK_DIR"
LINK_DIR=
cat "$W/raw2.out"
expect_grep '^connected$' "$W/raw2.out" "$U: the link lets the user connect"
expect_grep '^type 0x81 seq 0$' "$W/raw2.out" "$U: the agent answers with an error"
expect_grep "^error=permission denied: process $P belongs to uid 0, not to uid $uid\$" "$W/raw2.out" \
	"$U: the agent's refusal"
expect_grep '^closed$' "$W/raw2.out" "$U: the agent closes after its refusal"
grep -q '^state=' "$W/raw2.out" && fail "$U: the agent told another user its state"
# Root's program is unharmed, dormant, and root's to control.
expect_eq "$(ctl_field "$P" state)" dormant "root's program after the attempts"
"$FNTRACE" record -p "$P" -o "$W/root.data" -d 300ms 2>"$W/root.rec.err" ||
	{ cat "$W/root.rec.err"; fail "root: record -p of root's program"; }
[ "$(info_field "$W/root.data" events)" -gt 0 ] || fail "root: no events"
end_target "$P" "root's program" "$W/root.out"
[ -s "$W/root.err" ] && { cat "$W/root.err"; fail "root's program wrote to stderr"; }
KILL_AT_EXIT=

# --- the user's own program -----------------------------------------------
note "$U's own program"
"${SU[@]}" "$D/fntrace" run "$D/target" >"$W/user.out" 2>"$W/user.err" &
Q=$!
KILL_AT_EXIT="$Q"
wait_for 10 "the agent of $U's program answers" answers "$Q"
expect_eq "$(stat -c '%U %a' "/tmp/fntrace-$uid")" "$U 700" "$U's control directory"
expect_eq "$(stat -c '%U %a' "/tmp/fntrace-$uid/$Q.sock")" "$U 600" "$U's control socket"
as_user "$D/fntrace" ctl -p "$Q" >"$W/uctl.out" 2>"$W/uctl.err" ||
	{ cat "$W/uctl.err"; fail "$U: ctl -p of the user's own program"; }
expect_grep '^state +dormant$' "$W/uctl.out" "$U: ctl -p of the user's own program"
as_user "$D/fntrace" ps >"$W/ups.out" 2>&1 || fail "$U: fntrace ps"
expect_grep "^ *$Q +dormant " "$W/ups.out" "$U: fntrace ps lists the user's program"
as_user "$D/fntrace" record -p "$Q" -o "$D/u/own.data" -d 500ms 2>"$W/urec.err" ||
	{ cat "$W/urec.err"; fail "$U: record -p of the user's own program"; }
expect_eq "$(stat -c %U "$D/u/own.data")" "$U" "the owner of $U's trace"
[ "$(info_field "$D/u/own.data" events)" -gt 0 ] || fail "$U: no events recorded"
"$FNTRACE" report -i "$D/u/own.data" >"$W/urep"
[ "$(calls_of "$W/urep" mix)" -gt 0 ] || fail "$U: no call of mix recorded"
# Root may control anyone's.
"$FNTRACE" ctl -p "$Q" >"$W/rctl.out" || fail "root: ctl -p of $U's program"
expect_grep '^state +dormant$' "$W/rctl.out" "root: ctl -p of $U's program"
# And a user who is neither: the fresh uid.
refused "uid $fresh: ctl -p of $U's program" "process $Q belongs to uid $uid: permission denied" \
	as_fresh "$D/fntrace" ctl -p "$Q"
end_target "$Q" "$U's program" "$W/user.out"
[ -s "$W/user.err" ] && { cat "$W/user.err"; fail "$U's program wrote to stderr"; }
KILL_AT_EXIT=

# --- a control directory not private to its uid ---------------------------
dir=/tmp/fntrace-$fresh
# endpoint_case WHAT: runs the program as the fresh uid with $dir as the
# case left it; the program must say in one line that it has no endpoint,
# make no socket, and end as ever.
ncase=0
endpoint_case() {
	local what=$1 pid out=$W/case$ncase.out err=$W/case$ncase.err
	ncase=$((ncase + 1))
	"${SF[@]}" "$D/fntrace" run "$D/target" >"$out" 2>"$err" &
	pid=$!
	KILL_AT_EXIT="$pid"
	wait_for 10 "$what: the program says why" test -s "$err"
	sleep 0.2
	expect_eq "$(wc -l <"$err")" 1 "$what: lines on stderr ($(tr '\n' '|' <"$err"))"
	expect_grep "^fntrace: no control endpoint: .*$dir" "$err" "$what"
	note "$what: $(cat "$err")"
	[ -e "$dir/$pid.sock" ] && fail "$what: a socket was made in $dir"
	[ -d "$dir" ] && [ ! -L "$dir" ] && [ -n "$(ls -A "$dir" 2>/dev/null)" ] && fail "$what: $dir is not empty"
	grep -qx fntrace-agent /proc/"$pid"/task/*/comm && fail "$what: an agent thread runs"
	refused "$what: ctl -p" "process $pid" as_fresh "$D/fntrace" ctl -p "$pid"
	end_target "$pid" "$what" "$out"
	KILL_AT_EXIT=
}

note "control: uid $fresh, no $dir yet"
"${SF[@]}" "$D/fntrace" run "$D/target" >"$W/f.out" 2>"$W/f.err" &
F=$!
KILL_AT_EXIT="$F"
wait_for 10 "uid $fresh: the agent answers" answers "$F"
expect_eq "$(stat -c '%u %a' "$dir")" "$fresh 700" "the directory the runtime made"
as_fresh "$D/fntrace" ctl -p "$F" >"$W/fctl.out" || fail "uid $fresh: ctl -p of its own program"
end_target "$F" "uid $fresh, control" "$W/f.out"
[ -s "$W/f.err" ] && { cat "$W/f.err"; fail "uid $fresh: the program wrote to stderr"; }
KILL_AT_EXIT=
[ -e "$dir/$F.sock" ] && fail "the socket of an exited program is left"
rm -rf "$dir"

mkdir -m 0700 "$dir"
endpoint_case "$dir made by root (0700)"
rm -rf "$dir"

mkdir -m 0700 "$dir"
chown "$U:" "$dir"
endpoint_case "$dir made by $U (0700)"
rm -rf "$dir"

mkdir "$dir"
chmod 0777 "$dir"
chown "$fresh:$fresh" "$dir"
endpoint_case "$dir of uid $fresh with mode 0777"
rm -rf "$dir"

mkdir "$dir"
chmod 0750 "$dir"
chown "$fresh:$fresh" "$dir"
endpoint_case "$dir of uid $fresh with mode 0750"
rm -rf "$dir"

mkdir -m 0700 "$D/elsewhere"
chown "$fresh:$fresh" "$D/elsewhere"
ln -s "$D/elsewhere" "$dir"
endpoint_case "$dir a symlink to a directory of uid $fresh"
rm -f "$dir"

touch "$dir"
chown "$fresh:$fresh" "$dir"
endpoint_case "$dir a file"
rm -f "$dir"

mkdir -m 0500 "$dir"
chown "$fresh:$fresh" "$dir"
endpoint_case "$dir of uid $fresh with mode 0500 (no room for a socket)"
rm -rf "$dir"
echo "live_users: ok"
