#!/usr/bin/env python3
"""dump_perfetto.py - checks protoc's text decoding of 'fntrace dump
--perfetto' output (for dump_perfetto.sh):

  dump_perfetto.py DECODED REPORT

The first packet clears the incremental state, every packet is on one
sequence, every name_iid was interned before it is used, slices begin and
end nested on every track, and the slices per function equal report's
calls.  Prints a one-line summary; exits 1 with the first problem.
"""
import collections
import sys

sys.path.insert(0, sys.path[0])
from dump_check import fail, report_calls, compare  # noqa: E402


def packets(path):
    """Each packet as a flat dict of 'block.field' -> [values]."""
    stack, cur = [], None
    for line in open(path, encoding="utf-8"):
        line = line.strip()
        if line.endswith("{"):
            name = line[:-1].strip()
            if not stack and name == "packet":
                cur = collections.defaultdict(list)
            stack.append(name)
        elif line == "}":
            stack.pop()
            if not stack:
                yield cur
        elif line:
            key, _, value = line.partition(": ")
            cur[".".join(stack[1:] + [key])].append(value.strip('"'))


def main():
    names, slices = {}, collections.Counter()
    tracks = collections.defaultdict(list)
    last = {}
    n = 0
    for p in packets(sys.argv[1]):
        if n == 0 and p.get("sequence_flags") != ["1"]:
            fail("the first packet does not clear the incremental state: %r" % dict(p))
        n += 1
        if p.get("trusted_packet_sequence_id") != ["1"]:
            fail("packet %d: not on sequence 1" % n)
        for iid, name in zip(p.get("interned_data.event_names.iid", []),
                             p.get("interned_data.event_names.name", [])):
            names[iid] = name
        if "track_event.type" not in p:
            continue
        if p.get("sequence_flags") not in (["1"], ["2"], ["3"]):
            fail("packet %d: a track event without SEQ_NEEDS_INCREMENTAL_STATE" % n)
        typ, track = p["track_event.type"][0], p["track_event.track_uuid"][0]
        ts = int(p["timestamp"][0])
        if ts < last.get(track, 0):
            fail("track %s: time goes back at packet %d" % (track, n))
        last[track] = ts
        if typ == "TYPE_SLICE_BEGIN":
            iid = p["track_event.name_iid"][0]
            if iid not in names:
                fail("packet %d: name_iid %s not interned" % (n, iid))
            slices[names[iid]] += 1
            tracks[track].append(names[iid])
        elif typ == "TYPE_SLICE_END":
            if not tracks[track]:
                fail("track %s: end without begin (packet %d)" % (track, n))
            tracks[track].pop()
        elif typ != "TYPE_INSTANT":
            fail("packet %d: type %s" % (n, typ))
    for track, st in tracks.items():
        if st:
            fail("track %s: %d slices never end" % (track, len(st)))
    compare(slices, report_calls(sys.argv[2]), "perfetto")
    print("perfetto ok: %d packets, %d functions, %d slices"
          % (n, len(slices), sum(slices.values())))


main()
