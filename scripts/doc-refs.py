#!/usr/bin/python3
"""Checks that every `src/FILE.c:NAME` reference in the docs names a
function (or object) defined at the start of a line in that file, and
every `test/FILE.c:NAME` a test (Test(suite, NAME)) or function there.

Usage: scripts/doc-refs.py [--fix] [FILE.md ...]   (default: docs/*.md README.md)
With --fix, a reference whose name is defined in exactly one other file of
src/ is rewritten to that file.  Prints one line per broken reference and
"doc refs: N ok, M broken"; exit status 1 if any is broken.
"""
import glob
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REF = re.compile(r"\b(src|test)/([\w/]+\.c):(\w+)")


def definitions(top):
    """name -> files of top/ (src or test) that define it at the start of
    a line: a function or object, or a Criterion Test(suite, name)."""
    found = {}
    for path in glob.glob(os.path.join(ROOT, top, "**", "*.c"), recursive=True):
        rel = os.path.relpath(path, os.path.join(ROOT, top))
        with open(path, encoding="utf-8") as f:
            for line in f:
                m = re.match(r"Test\(\w+,\s*(\w+)", line)
                if m:
                    found.setdefault(m.group(1), set()).add(rel)
                m = re.match(r"(?:static\s+)?(?:const\s+)?(?:struct\s+\w+\s+)?(\w+)\s*(\(|\[|=|;)", line)
                if m:
                    found.setdefault(m.group(1), set()).add(rel)
                m = re.match(r"^(\w+)\(", line)
                if m:
                    found.setdefault(m.group(1), set()).add(rel)
    return found


def main(argv):
    fix = "--fix" in argv
    files = [a for a in argv if a != "--fix"] or \
        sorted(glob.glob(os.path.join(ROOT, "docs", "*.md"))) + [os.path.join(ROOT, "README.md")]
    defs = {"src": definitions("src"), "test": definitions("test")}
    ok = broken = 0
    for path in files:
        with open(path, encoding="utf-8") as f:
            text = f.read()

        def check(m):
            nonlocal ok, broken
            top, file, name = m.group(1), m.group(2), m.group(3)
            where = defs[top].get(name, set())
            if file in where:
                ok += 1
                return m.group(0)
            if fix and len(where) == 1:
                ok += 1
                return "%s/%s:%s" % (top, next(iter(where)), name)
            broken += 1
            print("%s: %s/%s:%s is not defined there%s" % (
                os.path.relpath(path, ROOT), top, file, name,
                " (defined in %s)" % ", ".join(sorted(where)) if where else ""))
            return m.group(0)
        new = REF.sub(check, text)
        if fix and new != text:
            with open(path, "w", encoding="utf-8") as f:
                f.write(new)
    print("doc refs: %d ok, %d broken" % (ok, broken))
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
