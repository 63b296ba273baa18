#!/usr/bin/env python3
"""dump_check.py - checks of 'fntrace dump' output for the dump_*.sh tests.

  dump_check.py chrome JSON REPORT   parse with json, check nesting on every
                                     thread, slices per function == calls
  dump_check.py calls JSON           print "NAME SLICES" per function
  dump_check.py folded FOLDED REPORT with --weight calls: the calls of each
                                     function (last frames) == report's

Prints a one-line summary; exits 1 with the first problem found.
"""
import collections
import json
import sys


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def report_calls(path):
    """Calls per function of 'fntrace report' (both table forms)."""
    calls = {}
    for line in open(path, encoding="utf-8", errors="replace"):
        if not line.startswith("  ") or "=====" in line or "Function" in line:
            continue
        parts = line.split(None, 11)
        if len(parts) == 12:  # 5 durations of 2 words, calls, name
            calls[parts[11].rstrip("\n")] = int(parts[4])
        else:
            parts = line.split(None, 1)
            calls[parts[1].rstrip("\n")] = int(parts[0])
    return calls


def chrome(path):
    """Returns (slices per name, events) after checking the nesting."""
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    events = doc["traceEvents"]
    stacks = collections.defaultdict(list)
    last = {}
    slices = collections.Counter()
    for e in events:
        ph, key = e["ph"], (e["pid"], e["tid"])
        if ph == "M":
            continue
        ts = float(e["ts"])
        if ph in "BE":
            if ts < last.get(key, 0.0):
                fail("thread %s: time goes back at %r" % (key, e))
            last[key] = ts
        if ph == "B":
            stacks[key].append(e["name"])
            slices[e["name"]] += 1
        elif ph == "E":
            if not stacks[key]:
                fail("thread %s: E without B: %r" % (key, e))
            top = stacks[key].pop()
            if top != e["name"]:
                fail("thread %s: E of %s closes %s" % (key, e["name"], top))
        elif ph == "X":
            slices[e["name"]] += 1
            if float(e["dur"]) < 0:
                fail("negative duration: %r" % e)
        elif ph == "i":
            if e["name"] != "lost events" or e["args"]["lost"] <= 0:
                fail("unexpected instant event %r" % e)
        else:
            fail("unexpected event %r" % e)
    for key, st in stacks.items():
        if st:
            fail("thread %s: %d calls never end (%s)" % (key, len(st), st[-1]))
    return slices, events, doc


def compare(slices, calls, what):
    for name in set(slices) | set(calls):
        if slices.get(name, 0) != calls.get(name, 0):
            fail("%s: %s: %d slices, report says %d calls"
                 % (what, name, slices.get(name, 0), calls.get(name, 0)))


def main():
    mode = sys.argv[1]
    if mode == "chrome":
        slices, events, _ = chrome(sys.argv[2])
        calls = report_calls(sys.argv[3])
        if not calls:
            fail("no function in the report")
        compare(slices, calls, "chrome")
        print("chrome ok: %d events, %d functions, %d slices"
              % (len(events), len(slices), sum(slices.values())))
    elif mode == "calls":
        slices, _, _ = chrome(sys.argv[2])
        for name, n in sorted(slices.items()):
            print(name, n)
    elif mode == "folded":
        calls = report_calls(sys.argv[3])
        got = collections.Counter()
        for line in open(sys.argv[2], encoding="utf-8"):
            path, _, value = line.rstrip("\n").rpartition(" ")
            if not path or not value.isdigit():
                fail("bad folded line %r" % line)
            got[path.split(";")[-1]] += int(value)
        compare(got, calls, "folded")
        print("folded ok: %d functions" % len(got))
    else:
        fail("unknown mode " + mode)


if __name__ == "__main__":
    main()
