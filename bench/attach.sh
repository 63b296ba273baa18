#!/usr/bin/env bash
# bench/attach.sh - attaching to a process started without fntrace
# (record -p, live -p, ctl -p on a process that has no runtime; issue 12):
#
#   1. time to record: a process of 100,000 sites (bench/gen_sites.py,
#      clang -O1 -fpatchable-function-entry=5) whose 2 threads call traced
#      functions all the time, started plainly; from the start of
#      'fntrace live -p PID' to its first printed event, of
#      'fntrace record -p PID' to its recording, of 'fntrace ctl -p PID'
#      (which only attaches) to its answer; each on a fresh process, then
#      again on the same process (the runtime stays: "reuse");
#   2. pauses: bench/attach_work.c, whose threads watch their own clock,
#      in a window with no attach (the baseline), one around
#      'fntrace ctl -p PID' (the attach) and one around a 'record -p' that
#      patches 100,000 sites the threads do not call.
#
# Milestones are polled by the script every 0.5 ms (CLOCK_MONOTONIC, as the
# program's own clock): the first new thread of the target (the loader:
# fntrace has read the target and hijacked its main thread for its two
# system calls), the agent's socket (the runtime is loaded and answers).
#
# Prints a markdown section and writes it to $O/bench/attach.md.  Not part
# of 'make test'.
#
#   O=build bash bench/attach.sh      (RUNS=7 SPIN=1000 WORKERS=3 BUSY_US=100
#                                      SLEEP_US=400 BASE_S=0.7 REC_D=300ms)
set -euo pipefail
export LC_ALL=C
ROOT=$(cd "$(dirname "$0")/.." && pwd)
O=${O:-build}; B=$ROOT/$O; W=$B/bench/attach
export RUNS=${RUNS:-7} SPIN=${SPIN:-1000} WORKERS=${WORKERS:-3} BUSY_US=${BUSY_US:-100}
export SLEEP_US=${SLEEP_US:-400} BASE_S=${BASE_S:-0.7} REC_D=${REC_D:-300ms}
cd "$ROOT"
T0=$EPOCHREALTIME

need=()
command -v clang >/dev/null || need+=(clang)
command -v python3 >/dev/null || need+=(python3)
if [ ${#need[@]} -gt 0 ]; then
	echo "bench: installing ${need[*]}" >&2
	SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
	$SUDO apt-get update && $SUDO DEBIAN_FRONTEND=noninteractive apt-get install -y "${need[@]}"
fi
[ -x "$B/fntrace" ] && [ -f "$B/libfntrace.so" ] || { echo "bench: build fntrace first (make)" >&2; exit 1; }
# Attaching is ptrace: Yama's scope 1 lets only a parent attach, and
# fntrace is not the parent of the programs started here.
scope=$(cat /proc/sys/kernel/yama/ptrace_scope 2>/dev/null || echo 0)
if [ "$scope" -ge 3 ] || { [ "$scope" -ge 1 ] && [ "$(id -u)" != 0 ]; }; then
	echo "bench: kernel.yama.ptrace_scope is $scope: run as root, or 'sysctl kernel.yama.ptrace_scope=0'" >&2
	exit 1
fi
mkdir -p "$W/bin"
# A copy, so that a rebuild of $O while this runs does not change what is
# measured (fntrace finds the libfntrace.so next to it, and the attach
# loads that one); new files, never rewritten in place.
for f in fntrace libfntrace.so; do cp "$B/$f" "$W/bin/$f.tmp" && mv -f "$W/bin/$f.tmp" "$W/bin/$f"; done

log() { echo "bench: $*" >&2; }
# --- builds ---------------------------------------------------------------
# The 100,000 functions: a minute or two of clang, kept until
# bench/gen_sites.py changes.
MANY=$W/many
if [ ! -x "$MANY" ] || [ "$MANY" -ot bench/gen_sites.py ]; then
	log "generating and compiling 100 files of 1000 functions (once)"
	rm -rf "$W/gen" && python3 bench/gen_sites.py "$W/gen" 100 1000
	ls "$W"/gen/gen_[0-9]*.c | xargs -P "$(nproc)" -I{} clang -O1 -fpatchable-function-entry=5 -c {} -o {}.o
	clang -O2 -pthread -o "$MANY.tmp" "$W/gen/gen_main.c" "$W"/gen/gen_[0-9]*.c.o
	mv "$MANY.tmp" "$MANY"
fi
# The pause workload, with the same 100,000 functions linked in (nothing
# calls them): the runtime it takes has as much to load.
clang -O2 -pthread -fpatchable-function-entry=5 -o "$W/attach_work" bench/attach_work.c "$W"/gen/gen_[0-9]*.c.o

export W O T0 ROOT
exec python3 - <<'PY'
import os, select, signal, statistics, subprocess, sys, time

W, O, ROOT = os.environ["W"], os.environ["O"], os.environ["ROOT"]
RUNS, SPIN = int(os.environ["RUNS"]), int(os.environ["SPIN"])
WORKERS, BUSY_US, SLEEP_US = int(os.environ["WORKERS"]), int(os.environ["BUSY_US"]), int(os.environ["SLEEP_US"])
BASE_S, REC_D = float(os.environ["BASE_S"]), os.environ["REC_D"]
FNT = os.path.join(W, "bin", "fntrace")
MANY = os.path.join(W, "many")
WORK = os.path.join(W, "attach_work")
REC = os.path.join(W, "rec.data")
ERR = os.path.join(W, "cmd.err")
POLL = 0.0005
LOAD0 = open("/proc/loadavg").read().split()[:3]
children = []		# Popen objects not yet reaped: only those are killed


def log(*a):
    print("bench:", *a, file=sys.stderr, flush=True)


def sh(*cmd):
    return subprocess.run(cmd, capture_output=True, text=True).stdout.strip()


def spawn(cmd, **kw):
    p = subprocess.Popen(cmd, **kw)
    children.append(p)
    return p


def reap(p, sig=None, timeout=30):
    if sig is not None and p.poll() is None:
        p.send_signal(sig)
    try:
        p.wait(timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
    if p in children:
        children.remove(p)


def ntasks(pid):
    try:
        return len(os.listdir("/proc/%d/task" % pid))
    except OSError:
        return -1


def sock_ino(pid):
    try:
        return os.stat("/tmp/fntrace-%d/%d.sock" % (os.getuid(), pid)).st_ino
    except OSError:
        return None


def has_runtime(pid):
    with open("/proc/%d/maps" % pid) as f:
        return "libfntrace" in f.read()


def fresh_many(threads):
    p = spawn([MANY, str(threads), str(SPIN)], stdout=subprocess.DEVNULL)
    end = time.monotonic() + 10
    while ntasks(p.pid) < threads + 1:
        if time.monotonic() > end or p.poll() is not None:
            raise SystemExit("bench: %s did not start its threads" % MANY)
        time.sleep(0.005)
    time.sleep(0.2)
    return p


def timed(kind, pid):
    """Runs one fntrace command against pid; milestones in ms from its start:
    thr (a new thread in the target), sock (the agent's socket, new), first
    (live: the first event line) or pub (record: the trace file is there,
    renamed into place once the recording is on), end (the command exits)."""
    if kind == "live":
        cmd = [FNT, "live", "-p", str(pid)]
    elif kind == "record":
        cmd = [FNT, "record", "-p", str(pid), "-d", REC_D, "-o", REC]
        if os.path.exists(REC):
            os.unlink(REC)
    else:
        cmd = [FNT, "ctl", "-p", str(pid)]
    # (a socket of an earlier process of this pid may be there: only a new
    # one counts)
    n0, i0, fresh = ntasks(pid), sock_ino(pid), not has_runtime(pid)
    ev, buf, out = {}, b"", b""
    errf = open(ERR, "w+b")
    t0 = time.monotonic()
    p = spawn(cmd, stdout=subprocess.PIPE, stderr=errf)
    fd = p.stdout.fileno()
    os.set_blocking(fd, False)
    deadline = t0 + 60
    while True:
        r, _, _ = select.select([fd], [], [], POLL)
        t = time.monotonic()
        if r:
            try:
                chunk = os.read(fd, 1 << 16)
            except BlockingIOError:
                chunk = None
            if chunk == b"":
                break
            if chunk and kind == "live" and "first" not in ev:
                buf += chunk
                for line in buf.split(b"\n")[:-1]:
                    if line and not line.startswith(b"#"):
                        ev["first"] = t
                        ev["line"] = line.decode(errors="replace")
                        p.send_signal(signal.SIGINT)
                        break
            elif chunk and kind == "ctl":
                out += chunk
        if fresh and "thr" not in ev and ntasks(pid) > n0:
            ev["thr"] = t
        if fresh and "sock" not in ev and sock_ino(pid) not in (None, i0):
            ev["sock"] = t
        if kind == "record" and "pub" not in ev and os.path.exists(REC):
            ev["pub"] = t
        if t > deadline:
            p.kill()
            raise SystemExit("bench: %s took over 60 s" % " ".join(cmd))
    reap(p)
    ev["end"] = time.monotonic()
    errf.seek(0)
    err = errf.read().decode(errors="replace")
    errf.close()
    if kind == "live" and "first" not in ev:
        raise SystemExit("bench: live -p printed no event (exit %d): %s" % (p.returncode, err))
    if kind == "ctl" and (p.returncode != 0 or b"\nsites " not in out):
        raise SystemExit("bench: ctl -p failed (exit %d): %s%s" % (p.returncode, out.decode(), err))
    if kind == "record":
        if p.returncode != 0 or "pub" not in ev:
            raise SystemExit("bench: record -p failed (exit %d): %s" % (p.returncode, err))
        info = sh(FNT, "info", "-i", REC)
        evs = [l.split()[3] for l in info.splitlines() if l.startswith("# events")]
        ev["events"] = int(evs[0]) if evs else 0
        if not ev["events"]:
            raise SystemExit("bench: record -p recorded nothing:\n" + info)
    res = {k: (v - t0) * 1e3 for k, v in ev.items() if isinstance(v, float)}
    for k in ("line", "events"):
        if k in ev:
            res[k] = ev[k]
    return res


def med(v):
    return statistics.median(v) if v else float("nan")


def fmt(v, d=1):
    return ("%%.%df" % d) % v if v == v else "n/a"


def cell(v, d=1, bold=False):
    if not v:
        return "n/a"
    m = fmt(med(v), d)
    return "%s [%s–%s]" % ("**%s**" % m if bold else m, fmt(min(v), d), fmt(max(v), d))


# --- 1. time to record -------------------------------------------------------
T = {}	# (config, milestone) -> list of ms


def add(cfg, res):
    for k, v in res.items():
        if isinstance(v, float):
            T.setdefault((cfg, k), []).append(v)


first_line = ""
events = []
try:
    for r in range(RUNS):
        log("1. time to record, round %d of %d" % (r + 1, RUNS))
        for kind in ("live", "record", "ctl"):
            p = fresh_many(2)
            res = timed(kind, p.pid)
            add(kind + "_fresh", res)
            first_line = res.get("line", first_line)
            if "events" in res:
                events.append(res["events"])
            add(kind + "_reuse", timed(kind, p.pid))
            reap(p, signal.SIGTERM)
        p = fresh_many(0)
        add("ctl_idle", timed("ctl", p.pid))
        reap(p, signal.SIGTERM)
    if os.path.exists(REC):
        os.unlink(REC)

    # --- 2. pauses -------------------------------------------------------------
    P = {}	# (mode, window, figure) -> list
    WHERE = {}	# (mode, window) -> phase of the largest worker gap -> count

    def window(w, mode, what):
        w.stdin.write(b"r")
        w.stdin.flush()
        time.sleep(0.05)
        t0 = time.monotonic()
        ms = {}
        if what == "base":
            time.sleep(BASE_S)
        elif what == "attach":
            ms = timed("ctl", w.pid)
        else:
            c = spawn([FNT, "record", "-p", str(w.pid), "-F", "g*", "-d", "200ms", "-o", REC],
                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            reap(c)
        t1 = time.monotonic()
        time.sleep(0.05)
        w.stdin.write(b"p")
        w.stdin.flush()
        rows = []
        while True:
            line = w.stdout.readline().decode()
            if not line or line.startswith("end"):
                break
            f = line.split()
            rows.append(dict(kind=f[3], max=float(f[5]) / 1e3, at=(float(f[7]) - t0) * 1e3,
                             blocked=float(f[9]) / 1e3, b_at=(float(f[11]) - t0) * 1e3,
                             cpu=float(f[13]) / 1e3, over=int(f[15])))
        length = t1 - t0 + 0.1
        wk = [x for x in rows if x["kind"] == "worker"]
        mn = [x for x in rows if x["kind"] == "main"]
        key = lambda fig: (mode, what, fig)
        P.setdefault(key("len"), []).append(length * 1e3)
        P.setdefault(key("w_max"), []).append(max(x["max"] for x in wk))
        P.setdefault(key("w_blocked"), []).append(max(x["blocked"] for x in wk))
        P.setdefault(key("w_cpu"), []).append(max(x["cpu"] for x in wk))
        P.setdefault(key("w_over"), []).append(sum(x["over"] for x in wk) / len(wk) / length)
        if mn:
            P.setdefault(key("m_max"), []).append(mn[0]["max"])
            P.setdefault(key("m_blocked"), []).append(mn[0]["blocked"])
        if what == "attach":
            P.setdefault(key("attach_ms"), []).append(ms["end"])
            # Where the largest gaps began: fntrace reading the target and
            # hijacking the main thread, the loader's work, after the agent
            # answered (fntrace's write of the debugger hook, every thread
            # stopped), in ms from the command's start.
            def phase(at):
                return ("hijack" if at < ms.get("thr", 0) else
                        "loading" if at < ms.get("sock", 1e9) else "after")
            for x in wk:
                if x["blocked"] > 0:
                    ph = phase(x["b_at"])
                    WHERE.setdefault((mode, "blocked"), {}).setdefault(ph, 0)
                    WHERE[(mode, "blocked")][ph] += 1
            top = max(wk, key=lambda x: x["max"])
            WHERE.setdefault((mode, "max"), {}).setdefault(phase(top["at"]), 0)
            WHERE[(mode, "max")][phase(top["at"])] += 1

    for mode in ("wait", "loop"):
        for r in range(RUNS):
            log("2. pauses, main thread %s, run %d of %d" % (mode, r + 1, RUNS))
            w = spawn([WORK, str(WORKERS), str(BUSY_US), str(SLEEP_US), mode],
                      stdin=subprocess.PIPE, stdout=subprocess.PIPE)
            if w.stdout.readline().decode().strip() != "ready":
                raise SystemExit("bench: attach_work did not start")
            time.sleep(0.2)
            for what in ("base", "attach", "patch"):
                window(w, mode, what)
            w.stdin.write(b"q")
            w.stdin.flush()
            reap(w)
    if os.path.exists(REC):
        os.unlink(REC)
finally:
    for p in list(children):
        if p.poll() is None:
            p.kill()
        p.wait()
    for f in (REC, ERR):
        if os.path.exists(f):
            os.unlink(f)

LOAD1 = open("/proc/loadavg").read().split()[:3]
ELAPSED = time.time() - float(os.environ["T0"])

# --- the section -------------------------------------------------------------
rev = sh("git", "-C", ROOT, "rev-parse", "--short", "HEAD") or "?"
if subprocess.run(["git", "-C", ROOT, "diff", "--quiet", "HEAD"]).returncode != 0:
    rev += " + uncommitted changes"
model = [l.split(":", 1)[1].strip() for l in sh("lscpu").splitlines() if l.startswith("Model name:")]
L = []
w = L.append
w("## Attaching to a running process: record -p, live -p, ctl -p")
w("")
w("Generated by `bench/attach.sh` (`O=%s bash bench/attach.sh`, or `make bench-attach O=%s`). "
  "`fntrace` below is a copy of `%s/fntrace` and `%s/libfntrace.so` taken when the script starts. "
  "Every target is started plainly, without fntrace; the first fntrace command that reaches it "
  "loads the runtime into it (ptrace hijack of the main thread for an mmap and a clone; a loader "
  "thread dlopen()s the runtime)." % (O, O, O, O))
w("")
w("| | |")
w("|---|---|")
w("| machine | %s, %d CPUs, Linux %s |" % (model[0] if model else "?", os.cpu_count(), os.uname().release))
w("| date | %s |" % time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()))
w("| commit | `%s` |" % rev)
w("| compiler | %s |" % sh("clang", "--version").splitlines()[0])
w("| load average | %s at the start, %s at the end (other jobs share this machine: medians) |"
  % (" ".join(LOAD0), " ".join(LOAD1)))
w("| whole run | %.0f s |" % ELAPSED)
w("")
lf = T[("live_fresh", "first")]
w("| figure | measured | target | |")
w("|---|---|---|---|")
w("| 1. `live -p PID` on a fresh process of 100,000 sites, to its first printed event | %s ms | < 1 s | %s |"
  % (cell(lf), "met" if med(lf) < 1000 else "**missed**"))
w("| 1. `record -p PID` on a fresh process, to its recording | %s ms | < 1 s | %s |"
  % (cell(T[("record_fresh", "pub")]), "met" if med(T[("record_fresh", "pub")]) < 1000 else "**missed**"))
w("| 1. `ctl -p PID` on a fresh process (the attach alone), to its answer | %s ms | | |"
  % cell(T[("ctl_fresh", "end")]))
w("| 1. `live -p PID` again on the same process (runtime loaded), to its first event | %s ms | | |"
  % cell(T[("live_reuse", "first")]))
for mode in ("wait", "loop"):
    b = P[(mode, "attach", "w_blocked")]
    w("| 2. longest wait of a worker thread for anything but a CPU, during the attach (main thread %s) "
      "| %s ms (baseline window: %s) | ≤ 1 ms | %s |"
      % ("blocked in read()" if mode == "wait" else "looping", cell(b, 2),
         cell(P[(mode, "base", "w_blocked")], 2), "met" if max(b) <= 1 else "**missed**"))
    w("| 2. longest gap of a worker thread, any cause, during the attach (main thread %s) "
      "| %s ms (baseline window: %s) | ≤ 1 ms | %s |"
      % ("blocked in read()" if mode == "wait" else "looping", cell(P[(mode, "attach", "w_max")], 2),
         cell(P[(mode, "base", "w_max")], 2),
         "met" if med(P[(mode, "attach", "w_max")]) <= 1 else "**missed** (so is the baseline)"
         if med(P[(mode, "base", "w_max")]) > 1 else "**missed**"))
w("| 2. the hijacked main thread (looping): its longest blocked gap (a ptrace stop) | %s ms "
  "(longest gap, any cause: %s; baseline window: %s) | | |"
  % (cell(P[("loop", "attach", "m_blocked")], 2), cell(P[("loop", "attach", "m_max")], 2),
     cell(P[("loop", "base", "m_max")], 2)))
w("")
w("### 1. Time to record")
w("")
w("`bench/gen_sites.py`: 100 files of 1000 functions, clang -O1 -fpatchable-function-entry=5 "
  "(100,000 sites); started plainly as `./many 2 %d`: 2 threads that call 2000 of the functions "
  "in turn, with %d loop iterations of other work after each call (the 2 CPUs are busy), and a "
  "main thread in `sleep()`, the thread the attach hijacks. Each *fresh* command on a new process, "
  "then the same command again on that process (*again*: the runtime stays loaded, the second "
  "command only connects). Round-robin, %d rounds; milliseconds from the command's start, median "
  "[min–max]." % (SPIN, SPIN, RUNS))
w("")
w("- `fntrace live -p PID`, its stdout a pipe read by the script; Ctrl-C (SIGINT) once the first "
  "event line has come (the first was `%s`);" % first_line.strip())
w("- `fntrace record -p PID -d %s -o rec.data` (function_graph, every site; `fntrace info -i` "
  "counted %s events per recording, median);" % (REC_D, "{:,}".format(int(med(events)))))
w("- `fntrace ctl -p PID` (attaches, then prints the status: `sites 100000`).")
w("")
w("*Loader thread*: the first poll that sees a new thread in `/proc/PID/task`: fntrace has read the "
  "target's objects (ELF, the 100,000 sites, libc's symbols), stopped its main thread and made it run "
  "the mmap and the clone. *Agent answers*: the agent's socket `/tmp/fntrace-UID/PID.sock` is there "
  "(new): dlopen() and the runtime's start-up (its own reading of the 100,000 sites) are done; a `ctl` "
  "would answer. *Recording*: `live`: its first event line read from the pipe; `record`: `rec.data` is "
  "there (renamed into place once the agent's START reply came: every site patched). Polled every "
  "%.1f ms." % (POLL * 1e3))
w("")
w("| command | process | loader thread | agent answers | recording | command exits |")
w("|---|---|---|---|---|---|")
rows = [("`live -p`", "fresh", "live_fresh", "first"), ("`live -p`", "again", "live_reuse", "first"),
        ("`record -p -d %s`" % REC_D, "fresh", "record_fresh", "pub"),
        ("`record -p -d %s`" % REC_D, "again", "record_reuse", "pub"),
        ("`ctl -p`", "fresh", "ctl_fresh", None), ("`ctl -p`", "again", "ctl_reuse", None),
        ("`ctl -p`", "fresh, no busy thread (`./many 0`)", "ctl_idle", None)]
for name, proc, cfg, rk in rows:
    fresh = "again" not in proc
    w("| %s | %s | %s | %s | %s | %s |" % (
        name, proc, cell(T.get((cfg, "thr"), [])) if fresh else "–",
        cell(T.get((cfg, "sock"), [])) if fresh else "(loaded)",
        cell(T[(cfg, rk)], bold=True) if rk else "–",
        cell(T[(cfg, "end")], bold=rk is None)))
w("")
sf, tf = med(T[("ctl_fresh", "sock")]), med(T[("ctl_fresh", "thr")])
w("Of a fresh `ctl -p` (medians): %.0f ms until the loader thread runs (fntrace's side), %.0f ms "
  "from there until the agent answers (the loader and the runtime's start-up in the target), "
  "%.0f ms to connect, write the dynamic linker's debugger hook (every thread stopped) and print. `record -p` and `live -p` then ask the agent to patch every site "
  "(START); `live -p` also times its clock for 10 ms first. *again* is the cost without the attach."
  % (tf, sf - tf, med(T[("ctl_fresh", "end")]) - sf))
w("")
w("### 2. Pauses of the target's threads")
w("")
w("`bench/attach_work.c`, linked with the same 100,000 functions (nothing calls them: the runtime "
  "has as much to load), started plainly as `./attach_work %d %d %d wait|loop`: %d worker threads "
  "that each, for %d µs, loop reading CLOCK_MONOTONIC and their context switches (`getrusage("
  "RUSAGE_THREAD)`) and calling a traced function, then sleep %d µs (`nanosleep`, timer slack 1 µs), "
  "and again (%d%% busy each: the load of the threads themselves leaves CPU time over). A thread's *gap*: the time "
  "between two iterations less the sleep it asked for; *blocked* if the thread made a voluntary "
  "context switch beyond its own sleep (it waited for something: a lock, a ptrace stop, a page), "
  "else it was runnable and waiting for a CPU (preempted, woken late, or the virtual CPU was not "
  "running). `wait`: the main thread, the one the attach hijacks, is blocked in `read()` of the "
  "commands; `loop`: the main thread loops as the workers do (its gap is the hijack's pause) and "
  "another thread reads the commands."
  % (WORKERS, BUSY_US, SLEEP_US, WORKERS, BUSY_US, SLEEP_US, 100 * BUSY_US // (BUSY_US + SLEEP_US)))
w("")
w("Per fresh process, three windows, each from the reset of the maxima to 50 ms after the command: "
  "*baseline*: no command, %g s (same process, same run: the scheduling noise of this machine); "
  "*attach*: `fntrace ctl -p PID` (the runtime is loaded, the debugger hook written; no site is patched); *patch*: then "
  "`fntrace record -p PID -F 'g*' -d 200ms -o rec.data` (runtime loaded: the 100,000 sites the "
  "threads do not call are patched and unpatched; `work()`, which they call, is not traced). "
  "Per window the largest gap over the workers (and the main thread's), median [min–max] over "
  "%d processes, ms; *> 1 ms*: gaps longer than 1 ms per worker and second of window, median."
  % (BASE_S, RUNS))
w("")
w("| main thread | window | window length | worker: longest gap | worker: longest blocked | "
  "worker: longest waiting for a CPU | worker gaps > 1 ms per s | main: longest gap | main: longest blocked |")
w("|---|---|---|---|---|---|---|---|---|")
for mode in ("wait", "loop"):
    for what, name in (("base", "baseline"), ("attach", "attach (`ctl -p`)"), ("patch", "patch (`record -p -F 'g*'`)")):
        g = lambda f: P.get((mode, what, f), [])
        w("| %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            "`read()`" if mode == "wait" else "`loop`", name, fmt(med(g("len")), 0),
            cell(g("w_max"), 2), cell(g("w_blocked"), 2, bold=True), cell(g("w_cpu"), 2),
            fmt(med(g("w_over")), 1), cell(g("m_max"), 2) if g("m_max") else "–",
            cell(g("m_blocked"), 2) if g("m_blocked") else "–"))
w("")
def where(k):
    d = WHERE.get(k, {})
    return ", ".join("%s %d" % (n, d[n]) for n in ("hijack", "loading", "after") if n in d) or "none"


w("When the attach window's gaps began (counts): the largest blocked gap of each worker that "
  "had one: main thread in `read()`: %s; looping: %s. The largest gap of any kind, one per "
  "window: in `read()`: %s; looping: %s. *hijack*: from the command's start to the loader thread "
  "(fntrace reads the target, then stops the main thread for its two system calls); *loading*: "
  "to the agent's socket; *after*: from there on: fntrace connects and, before anything else, "
  "writes the dynamic linker's debugger hook (5 bytes) with every thread of the target but the "
  "agent stopped by ptrace (all interrupted first, then waited for, until a listing finds no new one); then the status."
  % (where(("wait", "blocked")), where(("loop", "blocked")), where(("wait", "max")),
     where(("loop", "max"))))
w("")
w("A gap of a worker that is *waiting for a CPU* is the 2 CPUs being shared: with the other jobs of "
  "this machine (the baseline), and during an attach with fntrace itself and the loader thread in the "
  "target, which both run for hundreds of milliseconds. A *blocked* gap is the attach making the "
  "thread wait. The main thread's blocked gap is the longer of its two ptrace stops: the hijack, "
  "and the hook's write.")
text = "\n".join(L) + "\n"
with open(os.path.join(W, "attach.md.tmp"), "w") as f:
    f.write(text)
os.replace(os.path.join(W, "attach.md.tmp"), os.path.join(ROOT, O, "bench", "attach.md"))
sys.stdout.write(text)
PY
