#!/usr/bin/env python3
"""flame_check.py - checks of 'fntrace flamegraph' SVGs and 'fntrace graph'
output for tests/e2e/flamegraph.sh and graph.sh.

  flame_check.py calls SVG REPORT      well-formed XML; the calls of each
                                       function's frames == report's
  flame_check.py roots SVG REPORT      (inverted) the calls of the root
                                       frames == report's
  flame_check.py frames SVG            print "DEPTH NAME CALLS X WIDTH FILL OBJ"
  flame_check.py graph GRAPH REPORT    the calls on the paths of each
                                       function == report's
Prints a one-line summary; exits 1 with the first problem found.
"""
import collections
import re
import sys
import xml.etree.ElementTree as ET

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from dump_check import fail, report_calls  # noqa: E402

NS = "{http://www.w3.org/2000/svg}"


def frames(path):
    """(frames, constants): each frame's depth, name, calls, x, width, fill
    and object, after parsing the file as XML."""
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as e:
        fail("%s: not well-formed XML: %s" % (path, e))
    consts = {}
    for s in root.iter(NS + "script"):
        for k, v in re.findall(r"(\w+) = ([0-9.]+)", s.text or ""):
            consts[k] = float(v)
    out = []
    for g in root.iter(NS + "g"):
        if g.get("class") != "f":
            continue
        rect, title = g.find(NS + "rect"), g.find(NS + "title")
        y = float(rect.get("y"))
        d = (y - consts["ALL_Y"]) / consts["FH"] if consts["INVERTED"] else (consts["ALL_Y"] - y) / consts["FH"]
        out.append({
            "root": g.get("id") == "all", "depth": int(round(d)) - 1,
            "name": title.text.split("\n")[0], "calls": int(g.get("data-c")),
            "x": float(rect.get("x")), "w": float(rect.get("width")),
            "fill": rect.get("fill"), "obj": g.get("data-o"),
        })
    return out, consts


def compare(got, want, what):
    if got != want:
        diff = {k: (got.get(k), want.get(k)) for k in set(got) | set(want) if got.get(k) != want.get(k)}
        fail("%s: (got, report) differ: %s" % (what, dict(sorted(diff.items())[:10])))


def main():
    mode = sys.argv[1]
    if mode in ("calls", "roots"):
        fr, _ = frames(sys.argv[2])
        got = collections.Counter()
        for f in fr:
            if not f["root"] and (mode == "calls" or f["depth"] == 0):
                got[f["name"]] += f["calls"]
        compare(dict(got), report_calls(sys.argv[3]), mode)
        print("%s: %d frames, %d functions agree with report" % (mode, len(fr), len(got)))
    elif mode == "frames":
        fr, _ = frames(sys.argv[2])
        for f in fr:
            print(f["depth"], f["name"], f["calls"], "%.2f" % f["x"], "%.2f" % f["w"], f["fill"], f["obj"])
    elif mode == "graph":
        got = collections.Counter()
        lines = open(sys.argv[2], encoding="utf-8").read().split("\n")
        tree = [l for l in lines[lines.index("========== FUNCTION CALL GRAPH ==========") + 2:] if "(" in l]
        for line in tree[1:]:  # the first line is the program
            m = re.search(r"\((\d+)\) (.*)$", line)
            if not m:
                fail("graph: a line without '(calls) name': %r" % line)
            got[m.group(2)] += int(m.group(1))
        compare(dict(got), report_calls(sys.argv[3]), "graph")
        print("graph: %d paths, %d functions agree with report" % (len(tree) - 1, len(got)))
    else:
        fail("unknown mode " + mode)


if __name__ == "__main__":
    main()
