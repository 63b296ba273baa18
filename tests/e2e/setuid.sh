#!/usr/bin/env bash
# setuid.sh - a set-user-ID program linked with libfntrace.so, run by an
# unprivileged user, ignores the FNTRACE_* variables that user sets: it
# neither attaches to a region the user crafted (garbage, or a valid-looking
# one it would write the root process's data into), nor prints debug output,
# nor is traced by 'fntrace record' run by that user (which says why).
# A copy without the set-user-ID bit does attach: the checks would see it.
#
# Needs root (to make the program set-user-ID and to switch users); the
# user fntrace-test is created when missing.
source "$(cd "$(dirname "$0")" && pwd)/rec_common.bash"

[ "$(id -u)" = 0 ] || fail "this test needs root"
U=fntrace-test
id -u "$U" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$U"
uid=$(id -u "$U") gid=$(id -g "$U")
as_user() { setpriv --reuid="$uid" --regid="$gid" --clear-groups -- "$@"; }

# Everything the user runs lives in a directory every user can read (the
# build tree may not be).
D=$(mktemp -d /tmp/fntrace-setuid.XXXXXX)
trap 'rm -rf "$D"' EXIT
chmod 755 "$D"
cp "$BUILD/libfntrace.so" "$BUILD/fntrace" "$D/"
clang -O1 -g -fpatchable-function-entry=5 -o "$D/prog" "$PROGS/rec_calls.c" \
	-Wl,--no-as-needed -L"$D" -lfntrace -Wl,-rpath,"$D" -lpthread
gcc -O1 -D_GNU_SOURCE -I"$ROOT/src" -o "$D/mkregion" "$PROGS/mkregion.c" "$ROOT/src/ring/shm.c" "$ROOT/src/util/env.c"
cp "$D/prog" "$D/plain"
chown root:root "$D/prog"
chmod 4755 "$D/prog"
mkdir "$D/u"
chown "$U:" "$D/u"
as_user head -c 65536 /dev/urandom >"$D/u/garbage"
chown "$U:" "$D/u/garbage"
as_user "$D/mkregion" "$D/u/region"
as_user "$D/mkregion" "$D/u/control"
want=$(printf 'calls leaf 6\ncalls mid 3')

# The control: without the set-user-ID bit the same program, run by the
# same user, honours FNTRACE_SHM and writes its process image into the
# region (so an unchanged region below means the variable was ignored).
before=$(md5sum <"$D/u/control")
as_user env FNTRACE_SHM="$D/u/control" "$D/plain" count 3 >"$W/out" 2>"$W/err"
expect_eq "$(cat "$W/out")" "$want" "control: program output"
[ "$(md5sum <"$D/u/control")" != "$before" ] || fail "control: the plain program did not attach"

for shm in garbage region; do
	note "set-user-ID program, FNTRACE_SHM=$shm"
	before=$(md5sum <"$D/u/$shm")
	rc=0
	as_user env FNTRACE_SHM="$D/u/$shm" FNTRACE_DEBUG=9 FNTRACE_FILTER='*' \
		FNTRACE_WRITE=mem FNTRACE_SYNC=signal "$D/prog" count 3 >"$W/out" 2>"$W/err" || rc=$?
	expect_eq "$rc" 0 "$shm: exit status"
	expect_eq "$(cat "$W/out")" "$want" "$shm: program output"
	expect_eq "$(cat "$W/err")" "" "$shm: stderr (the runtime said something)"
	expect_eq "$(md5sum <"$D/u/$shm")" "$before" "$shm: the region was written to"
done

note "fntrace record run by the user on the set-user-ID program"
rc=0
(cd "$D/u" && as_user "$D/fntrace" record -o "$D/u/t.data" "$D/prog" count 3) >"$W/out" 2>"$W/err" || rc=$?
cat "$W/err"
expect_eq "$rc" 0 "record: exit status"
expect_eq "$(cat "$W/out")" "$want" "record: program output"
expect_grep "set-user-ID.*not traced" "$W/err" "record: says why nothing is traced"
expect_eq "$(info_field "$D/u/t.data" 'events')" 0 "record: events of the root process"
echo "setuid: ok"
