#!/usr/bin/env python3
"""bench/bench.py - fntrace side by side with uftrace and LLVM XRay (issue 5).

Run by bench/run.sh (`make bench`).  Builds the workloads in every flavour,
runs every tool in the same run (round-robin, so that noise falls on all of
them alike), and writes BENCHMARKS.md, bench/results.tsv and
bench/per_call.svg.  Python 3 standard library only.

Environment: O (build dir, default build), RUNS (default 9), CALLS (traced
calls per workload run, default 5000000), READ_ITERS (tree iterations of the
size/reading trace, default 100000).
"""
import json
import os
import re
import shlex
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
O = os.environ.get("O", "build")
B = os.path.join(ROOT, O)
W = os.path.join(B, "bench", "cmp")
RUNS = int(os.environ.get("RUNS", "9"))
CALLS = int(os.environ.get("CALLS", "5000000"))
READ_ITERS = int(os.environ.get("READ_ITERS", "100000"))
NFUNCS = 4000
REC_DEPTH = 500
FNT = os.path.join(B, "fntrace")
SRC = os.path.join(ROOT, "bench", "workload.c")
GEN = os.path.join(W, "gen_many.c")

os.makedirs(W, exist_ok=True)
os.chdir(W)   # every command below is run from here, with relative paths


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def sh(cmd, **kw):
    """Run a shell command line (the exact text quoted in BENCHMARKS.md)."""
    return subprocess.run(cmd, shell=True, check=True, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw).stdout


# ---------------------------------------------------------------- builds
BUILDS = {
    # name: (compile command, what)
    "wl_plain": "clang -O2 -o wl_plain {src} gen_many.c -lpthread",
    "wl_gcc": "gcc -O2 -o wl_gcc {src} gen_many.c -lpthread",
    "wl_fnt": "clang -O2 -fpatchable-function-entry=5 -o wl_fnt {src} gen_many.c -lpthread",
    "wl_pg": "gcc -O2 -pg -o wl_pg {src} gen_many.c -lpthread",
    "wl_xray": "clang -O2 -fxray-instrument -fxray-instruction-threshold=1 -DWITH_XRAY "
               "-o wl_xray {src} gen_many.c -lpthread",
}


def build():
    with open(GEN, "w") as f:
        for i in range(NFUNCS):
            f.write("__attribute__((noinline)) int m%d(int x) { return x * %d + %d; }\n"
                    % (i, 2 * i + 1, i))
        f.write("int (*const many_tab[%d])(int) = {\n" % NFUNCS)
        for i in range(NFUNCS):
            f.write("\tm%d,\n" % i)
        f.write("};\n")
    src = os.path.relpath(SRC, W)
    procs = [subprocess.Popen(c.format(src=src), shell=True) for c in BUILDS.values()]
    if any(p.wait() for p in procs):
        sys.exit("bench: a workload build failed")


# ---------------------------------------------------------------- tools
SHAPES = {  # name: (calls per iteration, description)
    "tree": (7, "small call tree: a -> 2 b -> 4 c, 7 short calls per iteration"),
    "rec": (REC_DEPTH + 1, "deep recursion, depth %d (%d calls per iteration)"
            % (REC_DEPTH, REC_DEPTH + 1)),
    "many": (NFUNCS, "%d distinct generated functions, each called once per iteration "
             "through a table" % NFUNCS),
}

FDR_BUF = 1 << 20


def xray_fdr_env(calls):
    # Full recording: no duration threshold (its default, 5 us, rewinds the
    # records of short calls), and buffers for every event (8-byte function
    # records, entry and exit, plus headroom for metadata); FDR drops what
    # does not fit.
    nbuf = (calls * 2 * 8 * 3 // 2) // FDR_BUF + 8
    return ('XRAY_OPTIONS="patch_premain=true xray_mode=xray-fdr xray_logfile_base=xray-fdr." '
            'XRAY_FDR_OPTIONS="func_duration_threshold_us=0 buffer_size=%d buffer_max=%d"'
            % (FDR_BUF, nbuf))


XRAY_BASIC_ENV = ('XRAY_OPTIONS="patch_premain=true xray_mode=xray-basic '
                  'xray_logfile_base=xray-basic." '
                  'XRAY_BASIC_OPTIONS="func_duration_threshold_us=0 max_stack_depth=1024"')

# column: (label, command template, output files to remove after a run)
TOOLS = [
    ("untraced", "untraced (clang -O2)", "./wl_plain {args}", []),
    ("untraced_gcc", "untraced (gcc -O2)", "./wl_gcc {args}", []),
    ("fnt_function", "fntrace function",
     "{fnt} record --tracer function -o fnt.data ./wl_fnt {args}", ["fnt.data"]),
    ("fnt_graph", "fntrace function_graph",
     "{fnt} record --tracer function_graph -o fnt.data ./wl_fnt {args}", ["fnt.data"]),
    ("uftrace_pg", "uftrace -pg",
     "uftrace record -d uftrace.data ./wl_pg {args}", ["uftrace.data"]),
    ("uftrace_dyn", "uftrace dynamic",
     "uftrace record -P . -d uftrace.data ./wl_fnt {args}", ["uftrace.data"]),
    ("xray_fdr", "XRay FDR", "{fdrenv} ./wl_xray {args}", ["xray-fdr.*"]),
    ("xray_basic", "XRay basic", XRAY_BASIC_ENV + " ./wl_xray {args}", ["xray-basic.*"]),
]
# Extra runs on the tree workload only: the whole recording (program and
# reader process) confined to one CPU, against the default placement where
# the reader drains on the other CPU while the program writes.
PINNED = [
    ("fnt_function_1cpu", "fntrace function, 1 CPU",
     "taskset -c 1 {fnt} record --tracer function -o fnt.data ./wl_fnt {args}", ["fnt.data"]),
    ("fnt_graph_1cpu", "fntrace function_graph, 1 CPU",
     "taskset -c 1 {fnt} record --tracer function_graph -o fnt.data ./wl_fnt {args}",
     ["fnt.data"]),
    ("uftrace_pg_1cpu", "uftrace -pg, 1 CPU",
     "taskset -c 1 uftrace record -d uftrace.data ./wl_pg {args}", ["uftrace.data"]),
]
PINNED_OF = {"fnt_function_1cpu": "fnt_function", "fnt_graph_1cpu": "fnt_graph",
             "uftrace_pg_1cpu": "uftrace_pg"}
TOOL_LABEL = {t[0]: t[1] for t in TOOLS + PINNED}


def command(tool, shape, iters, threads):
    tmpl = [t for t in TOOLS + PINNED if t[0] == tool][0][2]
    args = "%s %d" % (shape, iters) + (" %d" % threads if threads > 1 else "")
    calls = iters * SHAPES[shape][0] * threads
    return tmpl.format(args=args, fnt=os.path.relpath(FNT, W), fdrenv=xray_fdr_env(calls))


def outputs_size(tool):
    pats = [t for t in TOOLS + PINNED if t[0] == tool][0][3]
    total = 0
    for pat in pats:
        for name in sh("ls -d %s 2>/dev/null || true" % pat).split():
            total += int(sh("du -sb %s" % shlex.quote(name)).split()[0])
    return total


def clean(tool):
    for pat in [t for t in TOOLS + PINNED if t[0] == tool][0][3]:
        sh("rm -rf %s" % pat)


def run_once(tool, shape, iters, threads):
    cmd = command(tool, shape, iters, threads)
    clean(tool)
    t0 = time.perf_counter()
    r = subprocess.run(cmd, shell=True, text=True, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE)
    e2e = time.perf_counter() - t0
    m = re.search(r"calls=(\d+) wall_ns=([\d.]+) cpu_ns=([\d.]+) flush_ms=([\d.]+)", r.stdout)
    if r.returncode or not m:
        log("bench: FAILED (%d): %s\n%s%s" % (r.returncode, cmd, r.stdout, r.stderr[-2000:]))
        return None
    res = dict(tool=tool, shape=shape, threads=threads, iters=iters,
               calls=int(m.group(1)), wall=float(m.group(2)), cpu=float(m.group(3)),
               flush_ms=float(m.group(4)), e2e=e2e, bytes=outputs_size(tool))
    clean(tool)
    return res


# ---------------------------------------------------------------- stats
def med(xs):
    return statistics.median(xs) if xs else float("nan")


def fmt(x, nd=1):
    if x != x:
        return "n/a"
    return "%.*f" % (nd, x)


def cell(xs, nd=1):
    if not xs:
        return "failed"
    return "%s [%s–%s]" % (fmt(med(xs), nd), fmt(min(xs), nd), fmt(max(xs), nd))


# ---------------------------------------------------------------- svg
def svg_plot(path, groups, series, values, spreads, title, ylabel):
    """Grouped bar chart: values[g][s] medians, spreads[g][s] (min, max)."""
    colors = ["#999999", "#9ecae1", "#1f77b4", "#2ca02c", "#98df8a", "#ff7f0e",
              "#d62728", "#8c564b"]
    wd, ht, left, top, bottom = 1000, 460, 60, 40, 110
    ph = ht - top - bottom
    vmax = max([mx for g in spreads for (_, mx) in g if mx == mx] + [1])
    step = 10 ** len(str(int(vmax))) / 10
    while vmax / step > 10:
        step *= 2
    ymax = (int(vmax / step) + 1) * step
    gw = (wd - left - 20) / len(groups)
    bw = gw * 0.85 / len(series)
    y = lambda v: top + ph - ph * v / ymax
    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
           'font-family="sans-serif" font-size="11">' % (wd, ht),
           '<rect width="100%" height="100%" fill="white"/>',
           '<text x="%d" y="22" font-size="13">%s</text>' % (left, title),
           '<text transform="translate(16,%d) rotate(-90)" text-anchor="middle">%s</text>'
           % (top + ph / 2, ylabel)]
    t = 0
    while t <= ymax + 1e-9:
        out.append('<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#e0e0e0"/>'
                   % (left, wd - 20, y(t), y(t)))
        out.append('<text x="%d" y="%.1f" text-anchor="end">%g</text>' % (left - 4, y(t) + 4, t))
        t += step
    for gi, g in enumerate(groups):
        gx = left + gi * gw + gw * 0.075
        for si in range(len(series)):
            v = values[gi][si]
            if v != v:
                continue
            x = gx + si * bw
            out.append('<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"/>'
                       % (x, y(v), bw - 2, y(0) - y(v), colors[si % len(colors)]))
            lo, hi = spreads[gi][si]
            cx = x + (bw - 2) / 2
            out.append('<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="black"/>'
                       % (cx, cx, y(lo), y(hi)))
            out.append('<text x="%.1f" y="%.1f" text-anchor="middle" font-size="9">%s</text>'
                       % (cx, y(hi) - 3, fmt(v, 0) if v >= 10 else fmt(v, 1)))
        out.append('<text x="%.1f" y="%d" text-anchor="middle" font-size="12">%s</text>'
                   % (gx + gw * 0.425, top + ph + 18, g))
    lx, ly = left, top + ph + 40
    for si, s in enumerate(series):
        xx = lx + (si % 4) * 230
        yy = ly + (si // 4) * 18
        out.append('<rect x="%d" y="%d" width="12" height="12" fill="%s"/>'
                   % (xx, yy, colors[si % len(colors)]))
        out.append('<text x="%d" y="%d">%s</text>' % (xx + 16, yy + 10, s))
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


# ---------------------------------------------------------------- main
def main():
    t_start = time.time()
    load0 = open("/proc/loadavg").read().split()[:3]
    # The tree as it is built and measured: commit, local changes to anything
    # but this report's own outputs, and the start time.
    rev = [sh("git -C %s rev-parse --short HEAD" % ROOT).strip(),
           sh("git -C %s status --porcelain --untracked-files=no -- . ':!BENCHMARKS.md' "
              "':!bench/results.tsv' ':!bench/per_call.svg'" % ROOT).strip(),
           datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")]
    log("bench: building workloads in", W)
    build()
    for k, v in BUILDS.items():
        BUILDS[k] = v.format(src=os.path.relpath(SRC, W))

    # (1) and (4): per-call cost, all tools, round-robin over RUNS rounds.
    plan = [(shape, max(1, CALLS // SHAPES[shape][0]), 1) for shape in SHAPES]
    plan.append(("tree", max(1, CALLS // 7), 2))
    results = []
    for r in range(RUNS):
        for shape, iters, th in plan:
            extra = [t[0] for t in PINNED] if (shape, th) == ("tree", 1) else []
            for tool in [t[0] for t in TOOLS] + extra:
                log("bench: round %d/%d %s x%d %s" % (r + 1, RUNS, shape, th, tool))
                x = run_once(tool, shape, iters, th)
                if x:
                    x["round"] = r
                    results.append(x)

    def sel(tool, shape, th, key):
        return [x[key] for x in results if x["tool"] == tool and x["shape"] == shape
                and x["threads"] == th]

    with open(os.path.join(ROOT, "bench", "results.tsv"), "w") as f:
        keys = ["round", "tool", "shape", "threads", "iters", "calls", "cpu", "wall",
                "e2e", "flush_ms", "bytes"]
        f.write("\t".join(keys) + "\n")
        for x in results:
            f.write("\t".join(str(x[k]) for k in keys) + "\n")

    # (5) size and (6) reading: one trace of the tree workload per tool.
    log("bench: size and reading")
    it = READ_ITERS
    size_cmds = {
        "fntrace function_graph": command("fnt_graph", "tree", it, 1).replace(
            "fnt.data", "read-graph.data"),
        "fntrace function": command("fnt_function", "tree", it, 1).replace(
            "fnt.data", "read-func.data"),
        "uftrace -pg": command("uftrace_pg", "tree", it, 1).replace(
            "uftrace.data", "read-uftrace.data"),
        "uftrace dynamic": command("uftrace_dyn", "tree", it, 1).replace(
            "uftrace.data", "read-uftrace-dyn.data"),
        "XRay FDR": command("xray_fdr", "tree", it, 1).replace("xray-fdr.", "read-xray-fdr."),
        "XRay basic": command("xray_basic", "tree", it, 1).replace("xray-basic.",
                                                                   "read-xray-basic."),
    }
    sh("rm -rf read-*")
    for c in size_cmds.values():
        sh(c)
    size = {}
    count_cmds = {}

    def fnt_events(path):
        out = sh("%s info -i %s" % (os.path.relpath(FNT, W), path))
        ev = int(re.search(r"# events *: *(\d+)", out).group(1))
        lost = int(re.search(r"# lost events *: *(\d+)", out).group(1))
        return ev, lost

    for name, path in (("fntrace function_graph", "read-graph.data"),
                       ("fntrace function", "read-func.data")):
        ev, lost = fnt_events(path)
        count_cmds[name] = "fntrace info -i %s  (\"events\" line)" % path
        size[name] = (os.path.getsize(path), ev, lost)
    for name, d in (("uftrace -pg", "read-uftrace.data"),
                    ("uftrace dynamic", "read-uftrace-dyn.data")):
        # Every record of the per-thread data files (what replay reads): one
        # dump line per entry/exit/event record.
        dump = sh("uftrace dump -d %s" % d)
        ev = len(re.findall(r"^\s*\d+\.\d+\s+\d+:\s*\[(?:entry|exit|event|lost)", dump,
                            re.M))
        lost = len(re.findall(r"\[lost", dump))
        datbytes = sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d)
                       if f.endswith(".dat"))
        allbytes = int(sh("du -sb %s" % d).split()[0])
        count_cmds[name] = "uftrace dump -d %s | grep -cE '\\[(entry|exit|event|lost)'" % d
        size[name] = (allbytes, ev, lost, datbytes)
    for name, pat in (("XRay FDR", "read-xray-fdr.*"), ("XRay basic", "read-xray-basic.*")):
        f = sh("ls %s" % pat).split()[0]
        y = sh("llvm-xray convert -instr_map=./wl_xray -output-format=yaml %s" % f)
        ev = len(re.findall(r"kind:\s*function-", y))
        count_cmds[name] = ("llvm-xray convert -instr_map=./wl_xray -output-format=yaml %s "
                            "| grep -c 'kind: *function-'" % pat)
        size[name] = (os.path.getsize(f), ev, 0)

    read_cmds = {
        "fntrace replay": "%s replay -i read-graph.data > /dev/null" % os.path.relpath(FNT, W),
        "fntrace report": "%s report -i read-graph.data > /dev/null" % os.path.relpath(FNT, W),
        "uftrace replay": "uftrace replay --no-pager -d read-uftrace.data > /dev/null",
        "uftrace report": "uftrace report --no-pager -d read-uftrace.data > /dev/null",
    }
    read_t = {k: [] for k in read_cmds}
    for r in range(RUNS):
        for k, c in read_cmds.items():
            t0 = time.perf_counter()
            sh(c)
            read_t[k].append(time.perf_counter() - t0)

    # (2) disabled overhead and (3) patching: the existing scripts.
    log("bench: disabled_cost.sh")
    dis_cmd = "O=%s bash bench/disabled_cost.sh" % O
    dis_out = sh(dis_cmd, cwd=ROOT)
    log("bench: patch_speed.sh")
    ps_cmd = "O=%s bash bench/patch_speed.sh 1000 10000 100000" % O
    ps_out = sh(ps_cmd, cwd=ROOT)

    elapsed = time.time() - t_start
    load1 = open("/proc/loadavg").read().split()[:3]
    state = dict(results=results, plan=plan, size=size, size_cmds=size_cmds,
                 count_cmds=count_cmds, read_cmds=read_cmds, read_t=read_t, dis_cmd=dis_cmd,
                 dis_out=dis_out, ps_cmd=ps_cmd, ps_out=ps_out, load0=load0, load1=load1,
                 elapsed=elapsed, read_iters=it, rev=rev)
    with open(os.path.join(W, "state.json"), "w") as f:
        json.dump(state, f)
    write_md(**state)
    sh("rm -rf read-*")
    log("bench: wrote BENCHMARKS.md, bench/per_call.svg and bench/results.tsv in %.0f s"
        % elapsed)


def write_md(results, plan, size, size_cmds, count_cmds, read_cmds, read_t, dis_cmd, dis_out,
             ps_cmd, ps_out, load0, load1, elapsed, read_iters, rev):
    def sel(tool, shape, th, key):
        return [x[key] for x in results if x["tool"] == tool and x["shape"] == shape
                and x["threads"] == th]

    cpu_model = re.search(r"Model name:\s*(.*)", sh("lscpu")).group(1).strip()
    ncpu = os.cpu_count()
    commit, dirty = rev[0], rev[1]
    kernel = sh("uname -r").strip()
    vers = {
        "clang": sh("clang --version").splitlines()[0],
        "gcc": sh("gcc --version").splitlines()[0],
        "uftrace": sh("uftrace --version").strip(),
    }
    now = rev[2]
    tools = [t[0] for t in TOOLS]
    main_tools = [t for t in tools if t != "untraced_gcc"]
    fnt = os.path.relpath(FNT, W)
    L = []
    w = L.append
    w("# Benchmarks: fntrace, uftrace and LLVM XRay")
    w("")
    w("Generated by `make bench` (`bench/run.sh` → `bench/bench.py`); do not edit by hand.")
    w("")
    w("| | |")
    w("|---|---|")
    w("| machine | %s, %d CPUs, Linux %s |" % (cpu_model, ncpu, kernel))
    w("| date | %s |" % now)
    w("| commit | `%s`%s |" % (commit, " with uncommitted changes to: " + ", ".join(
        "`%s`" % l[3:] for l in dirty.splitlines()) if dirty else ""))
    w("| compilers, peers | %s; %s; %s; LLVM XRay 14 (libclang-rt-14-dev) |"
      % (vers["clang"], vers["gcc"], vers["uftrace"]))
    w("| load average | %s at the start, %s at the end (other jobs share this machine) |"
      % (" ".join(load0), " ".join(load1)))
    w("| runs | %d of every configuration, round-robin over the tools (each round runs every "
      "tool once); whole run %.0f s |" % (RUNS, elapsed))
    w("")
    w("Cells are **median [min–max]** over the %d runs. Raw figures of every run: "
      "[bench/results.tsv](bench/results.tsv)." % RUNS)
    w("")
    w("This is a 2-CPU KVM guest shared with other jobs. Under that load a run's CPU time "
      "is sometimes about twice its usual value for every tool (the host takes the CPU away "
      "and the guest still charges the time to the thread), so the spreads are wide and "
      "some distributions are bimodal; the medians are what to compare, and every tool "
      "had the same chances (each round runs all of them back to back).")
    w("")

    # ---- (1)
    w("## 1. Per traced call")
    w("")
    w("![ns per call, thread CPU time](bench/per_call.svg)")
    w("")
    w("How it is measured: `bench/workload.c` times its own loop, in each thread, with "
      "`CLOCK_THREAD_CPUTIME_ID` and with `CLOCK_MONOTONIC`, and divides by the number of "
      "traced calls. Start-up, patching, thread creation and writing or flushing the trace "
      "at exit are outside the timer (their cost is in the end-to-end table below). "
      "Each run makes about %d traced calls (entry and exit, recorded to a file, each "
      "tool's full-recording mode). The main table is thread CPU time, which other jobs on "
      "this shared machine inflate less than wall time; the wall-time table follows. "
      "A tracer that makes the program wait (for instance fntrace's lossless mode when a ring "
      "is full) shows that wait only in wall time." % CALLS)
    w("")
    w("Workloads:")
    for s, (_, d) in SHAPES.items():
        w("- `%s`: %s." % (s, d))
    w("")

    def table(key, title, note=None):
        w("### %s" % title)
        w("")
        if note:
            w(note)
            w("")
        w("| workload | " + " | ".join(TOOL_LABEL[t] for t in tools) + " |")
        w("|---|" + "---|" * len(tools))
        for shape, iters, th in plan:
            lab = shape + (" (%d threads)" % th if th > 1 else "")
            w("| %s | " % lab + " | ".join(cell(sel(t, shape, th, key), 1 if key != "cpu"
                                                 or True else 1) for t in tools) + " |")
        w("")
        w("Ratio to the untraced clang build (median / median) and overhead per call "
          "(median minus the untraced median, ns):")
        w("")
        w("| workload | " + " | ".join(TOOL_LABEL[t] for t in main_tools[1:]) + " |")
        w("|---|" + "---|" * (len(main_tools) - 1))
        for shape, iters, th in plan:
            lab = shape + (" (%d threads)" % th if th > 1 else "")
            base = med(sel("untraced", shape, th, key))
            cells = []
            for t in main_tools[1:]:
                m = med(sel(t, shape, th, key))
                cells.append("%s× (+%s)" % (fmt(m / base, 0 if m / base >= 100 else 1),
                                            fmt(m - base)))
            w("| %s | " % lab + " | ".join(cells) + " |")
        w("")

    table("cpu", "1a. ns per call, thread CPU time in the loop (main table)")
    table("wall", "1b. ns per call, wall time in the loop")

    w("### 1c. End to end: whole traced run minus the untraced run, per call")
    w("")
    w("Wall clock of the whole command as the harness sees it (start-up, patching, the "
      "recorder's drain and writing the file included), minus the median of the untraced "
      "run, divided by the traced calls (with 2 threads: the calls of both threads, which "
      "run in parallel). In seconds: median [min–max] of the whole run.")
    w("")
    w("| workload | " + " | ".join(TOOL_LABEL[t] for t in tools) + " |")
    w("|---|" + "---|" * len(tools))
    for shape, iters, th in plan:
        lab = shape + (" (%d threads)" % th if th > 1 else "")
        base = med(sel("untraced", shape, th, "e2e"))
        calls = sel("untraced", shape, th, "calls")
        ncalls = calls[0] * th if calls else float("nan")
        cells = []
        for t in tools:
            xs = sel(t, shape, th, "e2e")
            if not xs:
                cells.append("failed")
                continue
            per = (med(xs) - base) * 1e9 / ncalls
            cells.append("%s s [%s–%s]; %s ns/call" % (fmt(med(xs), 2), fmt(min(xs), 2),
                                                      fmt(max(xs), 2),
                                                      "–" if t == "untraced" else fmt(per)))
        w("| %s | " % lab + " | ".join(cells) + " |")
    w("")
    fl = sel("xray_fdr", "tree", 1, "flush_ms")
    w("### 1d. Where the reader runs (tree workload, 1 thread)")
    w("")
    w("fntrace and uftrace drain their buffers from a separate process while the program "
      "runs. By default the scheduler puts that process on the other CPU; here the whole "
      "recording is also confined to one CPU with `taskset -c 1` (same rounds, same "
      "iterations). ns per call, median [min–max]:")
    w("")
    w("| tool | CPU time, default | CPU time, 1 CPU | wall, default | wall, 1 CPU |")
    w("|---|---|---|---|---|")
    for pt, t in PINNED_OF.items():
        w("| %s | %s | %s | %s | %s |" % (TOOL_LABEL[t], cell(sel(t, "tree", 1, "cpu")),
                                          cell(sel(pt, "tree", 1, "cpu")),
                                          cell(sel(t, "tree", 1, "wall")),
                                          cell(sel(pt, "tree", 1, "wall"))))
    w("")
    w("```sh")
    for pt in PINNED_OF:
        w(command(pt, "tree", plan[0][1], 1))
    w("```")
    w("")
    w("XRay FDR's finalize and flush after the loop (outside the timer) took %s ms "
      "(tree, median), of which 100 ms is FDR's default `grace_period_ms`."
      % (fmt(med(fl)) if fl else "n/a"))
    w("")
    w("Trace bytes per run (median, tree workload): " + ", ".join(
        "%s %s MB" % (TOOL_LABEL[t], fmt(med(sel(t, "tree", 1, "bytes")) / 1e6))
        for t in tools if t not in ("untraced", "untraced_gcc")) + ".")
    w("")

    w("### The commands (run in `%s/bench/cmp`)" % O)
    w("")
    w("Builds:")
    w("")
    w("```sh")
    for c in BUILDS.values():
        w(c)
    w("# gen_many.c: %d functions 'int mI(int x) { return x * (2I+1) + I; }', noinline, "
      "and the table many_tab[] of them (written by bench.py)" % NFUNCS)
    w("```")
    w("")
    w("Runs (`SHAPE ITERATIONS [THREADS]`):")
    w("")
    w("```sh")
    for shape, iters, th in plan:
        for t in tools:
            w(command(t, shape, iters, th))
    w("```")
    w("")
    w("Notes on the peers' modes:")
    w("")
    w("- uftrace: `uftrace record` defaults (no filter, libmcount's shared-memory buffers, "
      "written by the uftrace process). It also records the program's PLT calls "
      "(`clock_gettime`, `pthread_create`, ...): a handful per run. `-pg` uses gcc, as "
      "uftrace's documentation does; the *untraced (gcc -O2)* column is its baseline if "
      "wanted. uftrace dynamic runs the very binary fntrace runs (clang "
      "`-fpatchable-function-entry=5`), patched at load time by `-P .`.")
    w("- XRay: `-fxray-instruction-threshold=1` so that every function has sleds. Basic mode "
      "with `func_duration_threshold_us=0` (its default, 5 us, drops every short call) and "
      "`max_stack_depth=1024` (its default, 64, stops recording below depth 64: the "
      "recursion would lose most events). FDR mode with `func_duration_threshold_us=0` and "
      "buffers large enough for every event. **With clang 14, `xray_mode=xray-fdr` alone "
      "only selects FDR mode: it is never initialized, the handler returns at once, and "
      "nothing is recorded or flushed.** So the workload calls `__xray_log_init_mode(\"xray-fdr\", "
      "$XRAY_FDR_OPTIONS)` before its threads start and `__xray_log_finalize()` + "
      "`__xray_log_flushLog()` after them. A figure for FDR taken without that measures the "
      "sleds and an early return, not recording.")
    w("- fntrace: `fntrace record` defaults (lossless mode, 1 MiB ring per thread). Its "
      "`function` tracer records entries only (one event per call); every other column "
      "records entry and exit.")
    w("")

    # ---- (2)
    w("## 2. Disabled overhead (sites present, tracing off)")
    w("")
    w("Callgrind instruction counts per call, against the same program built without sites "
      "(`bench/disabled_cost.sh`, `bench/disabled_cost.c`: 8 calls per iteration, the "
      "difference between N and 2N iterations). Instruction counts do not depend on the "
      "load, so they are single runs.")
    w("")
    w("```sh\n%s\n```\n" % dis_cmd)
    w("```\n%s```\n" % dis_out)

    # ---- (3)
    w("## 3. Patching")
    w("")
    w("Enabling and disabling every site of generated programs (clang "
      "`-fpatchable-function-entry=5`, one-line functions), and one function of them "
      "(`one function` rows, filter `g1`), with `fnt_enable`/`fnt_disable` in a live "
      "process (`bench/patch_speed.sh`, `bench/patch_speed.c`). Milliseconds, median, min "
      "and max of 7. fntrace only: uftrace and XRay do not patch a running program "
      "this way (uftrace patches at load time only; XRay's `__xray_patch()` is "
      "not timed here).")
    w("")
    w("```sh\n%s\n```\n" % ps_cmd)
    w("```\n%s```\n" % ps_out)

    # ---- (4)
    w("## 4. Scaling: 1 and 2 threads")
    w("")
    w("Tree workload, the same number of iterations per thread; ns per call per thread "
      "(each thread's loop time / its calls, averaged over the threads). Thread CPU time; "
      "wall time in brackets. This machine has %d CPUs, which the recorders' reader "
      "processes (fntrace, uftrace) share with the 2 program threads." % ncpu)
    w("")
    w("| | " + " | ".join(TOOL_LABEL[t] for t in tools) + " |")
    w("|---|" + "---|" * len(tools))
    for th in (1, 2):
        w("| %d thread%s | " % (th, "s" if th > 1 else "") + " | ".join(
            "%s (%s)" % (fmt(med(sel(t, "tree", th, "cpu"))),
                         fmt(med(sel(t, "tree", th, "wall")))) for t in tools) + " |")
    w("| 2 / 1 threads | " + " | ".join(
        "%s (%s)" % (fmt(med(sel(t, "tree", 2, "cpu")) / med(sel(t, "tree", 1, "cpu")), 2),
                     fmt(med(sel(t, "tree", 2, "wall")) / med(sel(t, "tree", 1, "wall")), 2))
        for t in tools) + " |")
    w("")

    # ---- (5)
    w("## 5. Size: bytes per event in the trace")
    w("")
    w("One recording of the tree workload, %d iterations (%d calls) per tool. An event is "
      "one entry or one exit record (fntrace `function`: entries only). Bytes are the whole "
      "trace (file or directory, with symbol tables and headers)." % (read_iters,
                                                                       read_iters * 7))
    w("")
    w("| tool | trace bytes | events | lost | bytes per event | command |")
    w("|---|---|---|---|---|---|")
    for name, c in size_cmds.items():
        s = size[name]
        extra = ""
        if len(s) > 3:
            extra = " (data files alone: %.2f)" % (s[3] / s[1]) if s[1] else ""
        w("| %s | %d | %d | %d | %.2f%s | `%s`; count: `%s` |"
          % (name, s[0], s[1], s[2], s[0] / s[1] if s[1] else float("nan"), extra,
             c, count_cmds[name].replace("|", "\\|")))
    w("fntrace's events are variable-length (a time delta that does not fit takes a longer "
      "record), so its bytes per event vary a little from run to run with the timing.")
    w("")

    # ---- (6)
    w("## 6. Reading: replay and report throughput")
    w("")
    g, u = size["fntrace function_graph"], size["uftrace -pg"]
    w("The traces of section 5: fntrace `function_graph` (%d events) and uftrace `-pg` (%d "
      "events), output to /dev/null. Seconds: median [min–max] of %d; events per second "
      "from the median." % (g[1], u[1], RUNS))
    w("")
    w("| command | seconds | events/s |")
    w("|---|---|---|")
    for k, c in read_cmds.items():
        ev = g[1] if k.startswith("fntrace") else u[1]
        w("| `%s` | %s | %s |" % (c.replace("|", "\\|"), cell(read_t[k], 3),
                                  "{:,.0f}".format(ev / med(read_t[k]))))
    w("")

    # ---- goals
    w("## Against the goals of issue 4")
    w("")
    g1 = med(sel("fnt_graph", "tree", 1, "cpu")) - med(sel("untraced", "tree", 1, "cpu"))
    f1 = med(sel("fnt_function", "tree", 1, "cpu")) - med(sel("untraced", "tree", 1, "cpu"))
    sc = med(sel("fnt_graph", "tree", 2, "cpu")) / med(sel("fnt_graph", "tree", 1, "cpu"))
    scw = med(sel("fnt_graph", "tree", 2, "wall")) / med(sel("fnt_graph", "tree", 1, "wall"))
    w("Tree workload, thread CPU time overhead per call (median minus untraced):")
    w("")
    base = med(sel("untraced", "tree", 1, "cpu"))
    g1min = min(sel("fnt_graph", "tree", 1, "cpu")) - base
    f1min = min(sel("fnt_function", "tree", 1, "cpu")) - base
    fs = med(sel("fnt_function", "tree", 2, "cpu")) / med(sel("fnt_function", "tree", 1, "cpu"))
    fsw = med(sel("fnt_function", "tree", 2, "wall")) / med(sel("fnt_function", "tree", 1, "wall"))
    w("| goal | measured (median) | best run | |")
    w("|---|---|---|---|")
    w("| function_graph ≤ 25 ns/call | %s ns | %s ns | %s |"
      % (fmt(g1), fmt(g1min), "met" if g1 <= 25 else "**missed**"))
    w("| function ≤ 12 ns/call | %s ns | %s ns | %s |"
      % (fmt(f1), fmt(f1min), "met" if f1 <= 12 else "**missed**"))
    w("| 2 threads ≤ 1.2× 1 thread, function_graph | %s× CPU time (%s× wall) | | %s |"
      % (fmt(sc, 2), fmt(scw, 2), "met" if sc <= 1.2 else "**missed**"))
    w("| 2 threads ≤ 1.2× 1 thread, function | %s× CPU time (%s× wall) | | %s |"
      % (fmt(fs, 2), fmt(fsw, 2), "met" if fs <= 1.2 else "**missed**"))
    w("")
    w("Wall time with 2 threads also pays for the reader process, which shares the 2 CPUs "
      "with the 2 program threads (and with the other jobs on this machine).")
    w("")
    # Live control (issue 11): bench/live.sh, run by bench/run.sh before us.
    live = os.path.join(ROOT, os.environ.get("O", "build"), "bench", "live.md")
    if os.path.exists(live):
        with open(live) as f:
            text = f.read()
        L.append(text.replace("## Live control", "## 8. Live control", 1).rstrip("\n"))
        w("")
    # Attaching (issue 12): bench/attach.sh, run by bench/run.sh before us.
    attach = os.path.join(ROOT, os.environ.get("O", "build"), "bench", "attach.md")
    if os.path.exists(attach):
        with open(attach) as f:
            text = f.read()
        L.append(text.replace("## Attaching", "## 9. Attaching", 1).rstrip("\n"))
        w("")
    with open(os.path.join(ROOT, "BENCHMARKS.md"), "w") as f:
        f.write("\n".join(L) + "\n")

    groups = [s + (" (%d threads)" % th if th > 1 else "") for s, _, th in plan]
    values = [[med(sel(t, s, th, "cpu")) for t in main_tools] for s, _, th in plan]
    spreads = [[(min(sel(t, s, th, "cpu") or [float("nan")]),
                 max(sel(t, s, th, "cpu") or [float("nan")])) for t in main_tools]
               for s, _, th in plan]
    svg_plot(os.path.join(ROOT, "bench", "per_call.svg"), groups,
             [TOOL_LABEL[t] for t in main_tools], values, spreads,
             "ns per traced call (thread CPU time in the loop; median, bars min–max, "
             "%d runs) — %s, commit %s" % (RUNS, now, commit), "ns per call")


if __name__ == "__main__":
    if sys.argv[1:] == ["--md-only"]:   # rewrite the report from the last run's figures
        with open(os.path.join(W, "state.json")) as f:
            write_md(**json.load(f))
    else:
        main()
