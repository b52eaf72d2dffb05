#!/usr/bin/env python3
"""Where a process's resident memory is, by kind of mapping: thread stacks
(with how many pages each has touched), malloc's heap and arenas, the rest.

    scripts/pagemap.py PID [--baseline FILE] [--save FILE] [--per N]

Reads /proc/PID/smaps (resident kB per mapping).  A thread stack is an
anonymous read-write mapping right above a one-page PROT_NONE guard (how
glibc maps them).  With --save the figures are kept as JSON; with
--baseline FILE (saved before the connections) and --per N (their
number), each kind is also shown as KiB per connection.
"""
import argparse
import collections
import json
import sys


def read_smaps(pid):
    """The mappings of `pid`: (start, end, perms, path, rss_kib)."""
    maps, cur = [], None
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            head = line.split()
            if "-" in head[0] and len(head) >= 5 and not head[0].endswith(":"):
                start, end = (int(x, 16) for x in head[0].split("-"))
                path = head[5] if len(head) > 5 else ""
                cur = [start, end, head[1], path, 0]
                maps.append(cur)
            elif head[0] == "Rss:":
                cur[4] = int(head[1])
    return maps


def classify(maps):
    """Resident KiB by kind, and the stacks' resident pages, counted."""
    kinds = collections.Counter()
    stack_pages = collections.Counter()
    prev = None
    for start, end, perms, path, rss in maps:
        guard = (prev is not None and prev[1] == start and
                 prev[2].startswith("---p") and prev[1] - prev[0] == 4096)
        if path == "" and perms.startswith("rw-p") and guard:
            kinds["thread stacks"] += rss
            stack_pages[rss // 4] += 1
        elif path == "[heap]":
            kinds["malloc: main heap"] += rss
        elif path == "" and perms.startswith("rw-p"):
            kinds["malloc: thread arenas, other anonymous"] += rss
        elif path.startswith("["):
            kinds[path] += rss
        else:
            kinds["files (binary, libraries)"] += rss
        prev = (start, end, perms)
    return {"kib": dict(kinds), "stacks_by_pages": dict(stack_pages)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("pid", type=int)
    ap.add_argument("--baseline")
    ap.add_argument("--save")
    ap.add_argument("--per", type=int, default=0)
    a = ap.parse_args()
    now = classify(read_smaps(a.pid))
    if a.save:
        with open(a.save, "w") as f:
            json.dump(now, f)
    base = {"kib": {}}
    if a.baseline:
        with open(a.baseline) as f:
            base = json.load(f)
    print(f"{'kind':42} {'KiB':>10}" + (f" {'KiB/conn':>9}" if a.per else ""))
    total = 0.0
    for kind, kib in sorted(now["kib"].items(), key=lambda kv: -kv[1]):
        grow = kib - base["kib"].get(kind, 0)
        total += grow
        per = f" {grow / a.per:9.2f}" if a.per else ""
        print(f"{kind:42} {kib:10d}{per}")
    if a.per:
        print(f"{'growth':42} {'':>10} {total / a.per:9.2f}")
    pages = sorted(now["stacks_by_pages"].items(), key=lambda kv: int(kv[0]))
    print("thread stacks by resident pages: " +
          ", ".join(f"{n} with {p}" for p, n in pages))
    return 0


if __name__ == "__main__":
    sys.exit(main())
