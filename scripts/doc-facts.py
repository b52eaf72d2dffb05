#!/usr/bin/python3
"""Fails when a number or a name the docs state about the code is not the
code's.  Docs: README.md, docs/*.md, man/*.1, the comments of
include/wshub/*.h.  (doc-refs.py checks their `src/FILE.c:NAME` references.)

Facts are read from the code, never copied here: every `#define NAME VALUE`
of include/wshub/*.h, src/*.[ch], src/load/*.[ch] whose value is a number,
arithmetic of defines, or a string (both branches of an #if); CHANNEL_KINDS,
the chan_new() calls in src/*.c; the flags in main.c's and load/opts.c's
option tables; wshub's defaults, the config.h define each row of main.c's
flags[] names (flag_table below).

Checked (each failure: "FILE:LINE: what the doc says; what the code has"):
 1. A number tied to a name, visibly where readers of the code want the name
        4096 (`HUB_QUEUE_LEN`)   8 MiB (HUB_QUEUE_BYTES)   DRAIN_MS (0.25 s)
        (`TLS_RECORD_MAX`, 16 KiB)   `WRITE_BATCH_MAX` is 16
        256 MiB (SEND_QUEUE_MIN * MAX_MESSAGE_BYTES)
    or hidden where it would be noise: Markdown `4,096<!--REDIS_QUEUE_LEN-->`;
    a man page line `.\\" fact: NAME [NAME ...]` tying the next numbers, in
    order ("-" skips one; no spaces inside an expression).  Units ms, s, KiB,
    MiB, GiB (_MS defines are ms, _KIB ones KiB); number words count.  An
    UPPER_NAME in such a place that the code does not define is a failure.
 2. Defaults: main.c's flags[] rows name a default (.def, a define)
    exactly where their help has the "%s" that prints it.  Each "(default
    X" of `wshub --help` against config.h, each "Default: X" of a man
    page's `.It Fl \\-FLAG` against config.h or its program's --help,
    each "`--FLAG ...` (default X" and wshub-load table row of the
    Markdown against them.  The values a flag takes: the first "MIN to
    MAX" of a man page's `.It Fl \\-FLAG` against the "ARG from MIN to
    MAX" wshub --help prints under it (from the same row of flags[] as
    the message for a bad value), or wshub-load's numopts[] row.
    Binaries: $WSHUB, $WSHUB_LOAD, else build/.
 3. Names: each --FLAG is a flag of wshub or wshub-load (OTHER_FLAGS: other
    programs'); each `snake_case` in Markdown backquotes, or after .Li in a
    man page, is a word of src/, include/, test/ or scripts/.
A number with no marker is not checked: mark it where you write it.
Usage: scripts/doc-facts.py [--list] [-v] [FILE ...] (--list: the facts;
-v: each tied number).  Exit status 1 on any failure.
"""
import glob
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Flags of other programs the docs show (redis-server, curl, systemctl,
# the conformance runner).
OTHER_FLAGS = {"save", "cacert", "now", "list"}
# Backquoted snake_case names that belong to other code (glibc, OpenSSL,
# the kernel).
OTHER_NAMES = {"libnss_systemd", "s_client", "futex_wake"}

WORDS = {"zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5,
         "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
         "eleven": 11, "twelve": 12, "sixteen": 16}
NUM = r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?"
WORD_NUM = r"\b(?i:%s)\b" % "|".join(WORDS)
UNIT = r"(?:[ \t]*(ms|s|KiB|MiB|GiB|seconds|milliseconds)\b)?"
NAME = r"[A-Z][A-Z0-9]*_[A-Z0-9_]*[A-Z0-9]"
EXPR = r"%s(?:\s*[-+*/]\s*(?:%s|\d+))*" % (NAME, NAME)


def read(path):
    with open(os.path.join(ROOT, path), encoding="utf-8") as f:
        return f.read()


# ---- facts ----------------------------------------------------------------

def c_value(expr, known):
    """The value of a C #define body, or None: a string, or an integer
    arithmetic of numbers and defines already known."""
    expr = expr.strip()
    m = re.fullmatch(r'"([^"]*)"', expr)
    if m:
        return m.group(1)
    expr = re.sub(r"\((?:size_t|int|long|unsigned|int64_t|uint64_t)\)", "", expr)
    expr = re.sub(r"(\d+)(?:ULL|LL|UL|U|L)\b", r"\1", expr)
    names = re.findall(r"[A-Za-z_]\w*", expr)
    if any(n not in known or len(known[n]) != 1 for n in names):
        return None
    for n in set(names):
        expr = re.sub(r"\b%s\b" % n, "(%r)" % next(iter(known[n])), expr)
    if not re.fullmatch(r"[\d\s()+\-*/<>%'\"]+", expr):
        return None
    try:
        v = eval(expr.replace("/", "//"), {"__builtins__": {}})
    except Exception:
        return None
    return v if isinstance(v, int) else None


def read_facts():
    """name -> {value: [file, ...]}, from the defines of the code."""
    files = sorted(glob.glob(os.path.join(ROOT, "include/wshub/*.h")) +
                   glob.glob(os.path.join(ROOT, "src/*.[ch]")) +
                   glob.glob(os.path.join(ROOT, "src/load/*.[ch]")))
    bodies = []
    for path in files:
        text = read(path).replace("\\\n", " ")
        for m in re.finditer(r"^#define\s+(\w+)[ \t]+([^\n]*)", text, re.M):
            body = re.sub(r"/\*.*?(\*/|$)", "", m.group(2)).strip()
            bodies.append((m.group(1), body, os.path.relpath(path, ROOT)))
    facts = {}
    for _ in range(4):  # defines built on defines, resolved in passes
        for name, body, where in bodies:
            v = c_value(body, facts)
            if v is not None:
                facts.setdefault(name, {}).setdefault(v, set()).add(where)
    src = "".join(read(p) for p in glob.glob(os.path.join(ROOT, "src/*.c")))
    kinds = len(re.findall(r"^(?!chan_new\().*\bchan_new\(", src, re.M))
    facts["CHANNEL_KINDS"] = {kinds: {"src/*.c: chan_new() calls"}}
    return facts


def flag_table(path="src/main.c"):
    """wshub's flags, from main.c's flags[]: name -> (the define of its
    default, the unit the docs give it in: "s" for DEFAULT_SECONDS), or
    name -> None for a flag without one; and the rows that print a default
    they do not have, or have one they do not print."""
    text = read(path)
    block = text[re.search(r"\bflags\[\] = \{", text).end():]
    block = block[:block.index("\n};")]
    table, wrong = {}, []
    for row in re.split(r"\n\t\{ ", block)[1:]:
        name = re.match(r'"([a-z0-9-]+)"', row).group(1)
        d = re.search(r"\.def = DEFAULT_(TEXT|INT|SECONDS),\s*"
                      r"\.(?:text|num) = (\w+)", row)
        table[name] = (d.group(2), "s" if d.group(1) == "SECONDS" else "") \
            if d else None
        if bool(d) != ("%s" in row):
            wrong.append(name)
    return table, wrong


def long_options(path):
    text = read(path)
    block = text[re.search(r"struct option \w+\[\]", text).start():]
    block = block[:block.index("};")]
    return set(re.findall(r'\{\s*"([a-z0-9-]+)"', block))


def one_value(facts, expr):
    """The value of an expression of defines (each with one value), or
    (None, why)."""
    names = re.findall(NAME, expr)
    for n in names:
        if n not in facts:
            return None, "%s is not a #define of the code" % n
    env = {}
    for n in names:
        if len(facts[n]) > 1:
            return None, "%s has several values: %s" % (n, sorted(facts[n]))
        env[n] = next(iter(facts[n]))
    try:
        return eval(expr, {"__builtins__": {}}, env), None
    except Exception as e:
        return None, "cannot evaluate %s: %s" % (expr, e)


def values(facts, expr):
    """Every value an expression may have (a define under #if may have
    two), or (set(), why)."""
    names = re.findall(NAME, expr)
    for n in names:
        if n not in facts:
            return set(), "%s is not a #define of the code" % n
    if len(names) == 1 and expr.strip() == names[0]:
        return set(facts[names[0]]), None
    v, why = one_value(facts, expr)
    return ({v} if v is not None else set()), why


# ---- the statements -------------------------------------------------------

def number(text):
    text = text.strip().lower()
    if text in WORDS:
        return WORDS[text]
    return float(text.replace(",", ""))


def in_code_units(expr, num, unit):
    """A doc's number and unit in the unit of the define(s) in expr."""
    names = re.findall(NAME, expr)
    unit = (unit or "").strip()
    if any(n.endswith("_MS") for n in names):
        return num * 1000 if unit in ("s", "seconds") else num
    scale = {"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30}.get(unit, 1)
    if any(n.endswith("_KIB") for n in names):
        return num * scale / 1024 if scale > 1 else num
    return num * scale


class Checker:
    def __init__(self, facts, verbose=False):
        self.facts = facts
        self.verbose = verbose
        self.failures = 0
        self.checked = 0

    def fail(self, where, msg):
        self.failures += 1
        print("%s: %s" % (where, msg))

    def tie(self, where, num_text, unit, expr):
        """A statement: the number num_text (with unit) is expr."""
        self.checked += 1
        if self.verbose:
            print("%s: %s %s = %s" % (where, num_text, unit or "", expr))
        want, why = values(self.facts, expr)
        if why:
            self.fail(where, "'%s' names %s" % (num_text, why))
            return
        got = in_code_units(expr, number(num_text), unit)
        if not any(isinstance(w, (int, float)) and abs(got - w) < 1e-9
                   for w in want):
            self.fail(where, "says %s%s for %s; the code has %s" % (
                num_text, " " + unit.strip() if unit else "", expr,
                " or ".join(str(w) for w in sorted(want, key=str))))


def line_of(text, pos):
    return text.count("\n", 0, pos) + 1


def comments_only(text):
    """A C file with everything but its comments blanked, and the `*` that
    starts each comment line too, line breaks kept: prose to search, whose
    positions are the file's."""
    out = re.sub(r"[^\n]", " ", text)
    for m in re.finditer(r"/\*.*?\*/", text, re.S):
        body = re.sub(r"(\n[ \t]*)\*(?!/)", lambda n: n.group(1) + " ",
                      m.group(0))
        out = out[:m.start()] + body + out[m.end():]
    return out


def check_visible(chk, rel, text):
    """NUMBER [unit] (`EXPR`), `NAME` (NUMBER [unit]), NAME, NUMBER unit,
    and Markdown's NUMBER<!--EXPR-->."""
    tied = re.compile(r"(?<![\w.])(%s|%s)%s\s*(?:\(\s*(`?)(%s)\3\s*\)|<!--\s*(%s)\s*-->)"
                      % (NUM, WORD_NUM, UNIT, EXPR, EXPR))
    named = re.compile(r"(?:`(%s)` (?:\(|is )|(?<![\w(])(%s) \(|\(`?(%s)`?,\s+)(%s)%s(?=[\s),;:.])"
                       % (NAME, NAME, NAME, NUM, UNIT))
    for m in tied.finditer(text):
        chk.tie("%s:%d" % (rel, line_of(text, m.start())), m.group(1),
                m.group(2), m.group(4) or m.group(5))
    for m in named.finditer(text):
        chk.tie("%s:%d" % (rel, line_of(text, m.start())), m.group(4),
                m.group(5), m.group(1) or m.group(2) or m.group(3))


def check_roff_markers(chk, rel, text):
    """.\\" fact: NAME [NAME ...] ties the next numbers of the page's text,
    in order, to the names."""
    lines = text.split("\n")
    for i, line in enumerate(lines):
        m = re.match(r'\.\\"\s*fact:\s*(.*)', line)
        if not m:
            continue
        exprs = m.group(1).split()
        j, k = i + 1, 0
        while k < len(exprs) and j < len(lines) and j < i + 12:
            if not lines[j].startswith('.\\"'):
                body = re.sub(r"^\.\w+\s*", "", lines[j])
                for n in re.finditer(r"(?<![\w.\\-])(%s)%s" % (NUM, UNIT), body):
                    if k == len(exprs):
                        break
                    if exprs[k] != "-":  # "-": a number to pass over
                        chk.tie("%s:%d" % (rel, j + 1), n.group(1),
                                n.group(2), exprs[k])
                    k += 1
            j += 1
        if k < len(exprs):
            chk.fail("%s:%d" % (rel, i + 1), "fact marker for %s: no number "
                     "follows within 10 lines" % " ".join(exprs[k:]))


# ---- flag defaults --------------------------------------------------------

def help_blocks(binary):
    """flag -> its lines of BINARY --help joined into one, or None if it
    cannot run."""
    try:
        out = subprocess.run([binary, "--help"], capture_output=True,
                             text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    found, flag, block = {}, None, ""
    for line in out.split("\n") + ["  --end"]:
        m = re.match(r"\s{1,8}(?:-\w, )?--([a-z0-9-]+)", line)
        if m or not line.strip():
            if flag:
                found[flag] = block
            flag, block = (m.group(1), line) if m else (None, "")
        elif flag:
            block += " " + line.strip()
    return found


def help_defaults(blocks):
    """flag -> default text, from help_blocks."""
    found = {}
    for flag, block in blocks.items():
        d = re.search(r"\(default\s+([^\s;,)]+)", block)
        if d:  # a value; "(default: ...)" is prose
            found[flag] = d.group(1).rstrip(":")
    return found


def help_ranges(blocks):
    """flag -> (min, max) of the "ARG from MIN to MAX" --help prints under
    a flag that takes a number."""
    found = {}
    for flag, block in blocks.items():
        r = re.search(r"\b[A-Z]+ from (-?%s) to (%s)$" % (NUM, NUM), block)
        if r:
            found[flag] = (r.group(1), r.group(2))
    return found


def load_ranges(facts):
    """wshub-load's flag -> (min, max) from the numopts[] rows of
    src/load/opts.c (its --help states no ranges), defines resolved; a
    row whose bound is no number is left out."""
    found = {}
    text = read("src/load/opts.c")
    table = text[text.index("numopts[] = {"):]
    table = table[:table.index("};")]
    for m in re.finditer(r'\{\s*[^,]+,\s*"(?:-\w/)?--([a-z0-9-]+)",\s*'
                         r'([^,]+),\s*([^,]+),', table):
        bounds = []
        for expr in (m.group(2), m.group(3)):
            vals, why = values(facts, expr)
            if why or len(vals) != 1:
                break
            bounds.append(str(next(iter(vals))))
        if len(bounds) == 2:
            found[m.group(1)] = tuple(bounds)
    return found


def man_items(text):
    """(flags, first line number, text) of every `.It Fl \\-FLAG` item of
    a man page, its comment lines left out."""
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if not line.startswith(".It Fl"):
            continue
        flags = [f.replace("\\-", "-") for f in
                 re.findall(r"Fl \\-((?:[a-z0-9]|\\-)+)", line)]
        body = []
        for j in range(i + 1, len(lines)):
            if lines[j].startswith(".It") or lines[j].startswith(".Sh"):
                break
            if not lines[j].startswith('.\\"'):
                body.append((j + 1, lines[j]))
        yield flags, body


def man_ranges(text):
    """flag -> (min, max, line) of the first "MIN to MAX" of every
    `.It Fl \\-FLAG` item of a man page."""
    found = {}
    for flags, body in man_items(text):
        for at, line in body:
            r = re.search(r"(?<![\w.])(-?%s) to (%s)\b" % (NUM, NUM), line)
            if r:
                for f in flags:
                    found[f] = (r.group(1), r.group(2), at)
                break
    return found


def man_defaults(text):
    """flag -> (default text, line) of every `.It Fl \\-FLAG` item with a
    "Default: X"."""
    found = {}
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if not line.startswith(".It Fl"):
            continue
        flags = re.findall(r"Fl \\-((?:[a-z0-9]|\\-)+)", line)
        for j in range(i + 1, len(lines)):
            if lines[j].startswith(".It") or lines[j].startswith(".Sh"):
                break
            m = re.match(r"Default:\s*(\S*)", lines[j])
            if m:
                value, at = m.group(1), j
                if not value and j + 1 < len(lines):
                    at = j + 1
                    value = re.sub(r"^\.\w+\s+", "", lines[at]).split()[0]
                value = value.replace("\\-", "-").rstrip(".,;:")
                for f in flags:
                    found[f.replace("\\-", "-")] = (value, at + 1)
                break
    return found


def same(doc, code):
    """A doc's default against --help's or config.h's, as text or number."""
    try:
        return abs(number(doc) - number(str(code))) < 1e-9
    except ValueError:
        return doc.strip('"') == str(code)


def check_flag_table(chk, table, wrong):
    """main.c's flags[]: a row prints a default exactly where it names one,
    so that check_flag_defaults sees every default --help states.
    (test/integration/man.sh checks that man/wshub.1 has every flag.)"""
    for name in wrong:
        chk.fail("src/main.c", "flags[] --%s: a .def without a \"%%s\" in "
                 "its help, or a \"%%s\" without a .def" % name)
    chk.checked += len(table)


def check_flag_defaults(chk, facts, files, wshub, wshub_load, table):
    expect = {}
    defaults = {f: d for f, d in table.items() if d is not None}
    for flag, (expr, unit) in defaults.items():
        vals, why = values(facts, expr)
        if why:
            chk.fail("src/main.c", "flags[] --%s: %s" % (flag, why))
            continue
        # Defined under #if (THREAD_STACK_KIB): the last definition, the
        # #else of a plain build, is the default the docs give.
        v = list(facts[expr])[-1] if expr in facts else next(iter(vals))
        if unit == "s":
            v = v / 1000
            v = int(v) if v == int(v) else v
        expect[flag] = v
    # --help against config.h.
    helps, ranges = {}, {}
    for prog, binary in (("wshub", wshub), ("wshub-load", wshub_load)):
        blocks = help_blocks(binary) if binary else None
        if blocks is None:
            print("# %s is not built (%s): its --help is not checked" % (prog, binary))
            continue
        h = helps[prog] = help_defaults(blocks)
        ranges[prog] = help_ranges(blocks)
        if prog != "wshub":
            continue
        for flag, v in expect.items():
            if flag not in h:
                chk.fail("%s --help" % prog, "--%s states no '(default X)'" % flag)
            elif not same(h[flag], v) and not (
                    flag == "thread-stack" and h[flag] in map(str, facts["THREAD_STACK_KIB"])):
                chk.fail("%s --help" % prog, "--%s: default %s; config.h has %s (%s)"
                         % (flag, h[flag], v, defaults[flag][0]))
            chk.checked += 1
    ranges["wshub-load"] = load_ranges(facts)
    # Man pages: config.h for wshub, and --help for both.
    for rel, prog in (("man/wshub.1", "wshub"), ("man/wshub-load.1", "wshub-load")):
        if rel not in files:
            continue
        for flag, (value, line) in man_defaults(read(rel)).items():
            where = "%s:%d" % (rel, line)
            if prog == "wshub" and flag in expect:
                chk.checked += 1
                if not same(value, expect[flag]):
                    chk.fail(where, "--%s: Default: %s; config.h has %s (%s)"
                             % (flag, value, expect[flag], defaults[flag][0]))
            h = helps.get(prog, {})
            if flag in h and (prog != "wshub" or flag not in expect):
                chk.checked += 1
                if not same(value, h[flag]):
                    chk.fail(where, "--%s: Default: %s; %s --help says %s"
                             % (flag, value, prog, h[flag]))
        # The values a flag takes, "MIN to MAX", against --help's range.
        for flag, (lo, hi, line) in man_ranges(read(rel)).items():
            r = ranges.get(prog, {}).get(flag)
            if r is None:
                continue
            chk.checked += 1
            if not (same(lo, r[0]) and same(hi, r[1])):
                chk.fail("%s:%d" % (rel, line), "--%s: %s to %s; %s takes "
                         "from %s to %s" % (flag, lo, hi, prog, r[0], r[1]))
    # Markdown: "`--flag ARG` (default X", and README's wshub-load table.
    for rel in files:
        if not rel.endswith(".md"):
            continue
        text = read(rel)
        for m in re.finditer(r"`--([a-z0-9-]+)[^`]*`[^.;`]{0,30}?\(default (%s)" % NUM, text):
            flag, value = m.group(1), m.group(2)
            where = "%s:%d" % (rel, line_of(text, m.start()))
            ref = expect.get(flag, helps.get("wshub", {}).get(flag))
            if ref is None:
                ref = helps.get("wshub-load", {}).get(flag)
            if ref is None:
                continue
            chk.checked += 1
            if not same(value, ref):
                chk.fail(where, "--%s: default %s; the code has %s" % (flag, value, ref))
        for m in re.finditer(r"^\| `(?:-\w, )?--([a-z0-9-]+)[^`]*` \| ([^|]*?) \|", text, re.M):
            flag, value = m.group(1), m.group(2).split()[0] if m.group(2).split() else ""
            ref = helps.get("wshub-load", {}).get(flag)
            if ref is None or not re.match(NUM + "$", value):
                continue
            chk.checked += 1
            if not same(value, ref):
                chk.fail("%s:%d" % (rel, line_of(text, m.start())),
                         "--%s: default %s; wshub-load --help says %s" % (flag, value, ref))


# ---- names ----------------------------------------------------------------

def check_names(chk, files, flags):
    code = []
    for top in ("src", "include", "test", "scripts"):
        for path in glob.glob(os.path.join(ROOT, top, "**", "*"), recursive=True):
            if os.path.isfile(path):
                with open(path, encoding="utf-8", errors="replace") as f:
                    code.append(f.read())
    words = set(re.findall(r"\w+", "\n".join(code)))
    for rel in files:
        text = read(rel)
        if rel.endswith(".1"):
            prose = re.sub(r'^\.\\".*$', "", text, flags=re.M)
            prose = re.sub(r"Fl \\-", "--", prose)
            prose = prose.replace("\\-", "-")
        elif rel.endswith(".h"):
            prose = re.sub(r"(?<=[a-z]-)\n \* ?", "", text)  # a flag cut at a line end
        else:
            prose = text
        for m in re.finditer(r"(?<![\w#/.-])--([a-z][a-z0-9-]*[a-z0-9])", prose):
            chk.checked += 1
            if m.group(1) not in flags and m.group(1) not in OTHER_FLAGS:
                chk.fail("%s:%d" % (rel, line_of(prose, m.start())),
                         "--%s is not a flag of wshub or wshub-load" % m.group(1))
        pat = r"^\.Li\s+([a-z][a-z0-9]*(?:_[a-z0-9]+)+)" if rel.endswith(".1") else \
            r"`([a-z][a-z0-9]*(?:_[a-z0-9]+)+)`" if rel.endswith(".md") else None
        for m in re.finditer(pat, text, re.M) if pat else ():
            chk.checked += 1
            if m.group(1) not in words and m.group(1) not in OTHER_NAMES:
                chk.fail("%s:%d" % (rel, line_of(text, m.start())),
                         "`%s` is not a name in the code" % m.group(1))


def main(argv):
    facts = read_facts()
    if "--list" in argv:
        for name in sorted(facts):
            for v, where in sorted(facts[name].items(), key=str):
                print("%s = %r  (%s)" % (name, v, ", ".join(sorted(where))))
        return 0
    files = [os.path.relpath(os.path.abspath(a), ROOT) for a in argv
             if not a.startswith("-")] or (
        ["README.md"] + sorted(os.path.relpath(p, ROOT) for p in
                               glob.glob(os.path.join(ROOT, "docs/*.md")) +
                               glob.glob(os.path.join(ROOT, "man/*.1")) +
                               glob.glob(os.path.join(ROOT, "include/wshub/*.h"))))
    chk = Checker(facts, verbose="-v" in argv)
    for rel in files:
        text = read(rel)
        if rel.endswith(".1"):
            check_roff_markers(chk, rel, text)
        else:
            check_visible(chk, rel, comments_only(text) if rel.endswith(".h") else text)
    table, wrong = flag_table()
    check_flag_table(chk, table, wrong)
    flags = set(table) | long_options("src/load/opts.c")
    env = lambda k, d: os.environ.get(k) or os.path.join(ROOT, d)
    check_flag_defaults(chk, facts, files, env("WSHUB", "build/wshub"),
                        env("WSHUB_LOAD", "build/wshub-load"), table)
    check_names(chk, files, flags)
    print("doc facts: %d checked, %d wrong" % (chk.checked, chk.failures))
    return 1 if chk.failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
