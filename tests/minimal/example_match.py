"""Does the EXAMPLE section of ws.h's top comment hold examples/minimal_server.c verbatim?
    python3 tests/minimal/example_match.py ws.h examples/minimal_server.c
The rule: ws.h's first comment has sections whose headings are lines of three spaces and a
capital word ("   EXAMPLE ...", "   WHAT IT DOES", ...). The sections whose heading starts
with EXAMPLE must contain every line of the file, in order and consecutively, each indented
by the same number of spaces (empty lines may be empty). Text before and after the file's
lines is free. Prints "ok ..." or "FAIL ..." with the first difference; exits 1 on FAIL."""
import re
import sys

header, example = sys.argv[1], sys.argv[2]
with open(example, encoding="utf-8") as f:
    want = [l.rstrip() for l in f.read().rstrip("\n").split("\n")]
with open(header, encoding="utf-8") as f:
    text = f.read()
end = text.find("*/")
if not text.startswith("/*") or end < 0:
    print("FAIL %s does not start with a comment" % header)
    sys.exit(1)
comment = text[:end].split("\n")
heading = re.compile(r"^   [A-Z][A-Z'-]+( |$)")
section, lines = None, []          # (line number in ws.h, text) of the EXAMPLE sections
for n, line in enumerate(comment, 1):
    if heading.match(line):
        section = line.split()[0]
    if section == "EXAMPLE":
        lines.append((n, line.rstrip()))
if not lines:
    print("FAIL %s has no EXAMPLE section in its top comment" % header)
    sys.exit(1)

first = want[0]
starts = [i for i, (_, l) in enumerate(lines) if l.endswith(first) and not l[: len(l) - len(first)].strip()]
if not starts:
    print("FAIL ws.h's EXAMPLE section (lines %d-%d) is not %s: its first line %r is not there; "
          "paste the file there verbatim, every line indented the same"
          % (lines[0][0], lines[-1][0], example, first))
    sys.exit(1)
best = None                         # (lines matched, first differing index, indent, start)
for s in starts:
    indent = len(lines[s][1]) - len(first)
    k = 0
    while k < len(want) and s + k < len(lines):
        got = lines[s + k][1]
        if not (got[indent:] == want[k] and not got[:indent].strip()) and not (want[k] == "" and got.strip() == ""):
            break
        k += 1
    if best is None or k > best[0]:
        best = (k, k, indent, s)
k, _, indent, s = best
if k == len(want):
    print("ok   ws.h's EXAMPLE (lines %d-%d) is %s verbatim (%d lines, indented %d)"
          % (lines[s][0], lines[s + k - 1][0], example, len(want), indent))
    sys.exit(0)
where = lines[s + k][0] if s + k < len(lines) else lines[-1][0] + 1
found = lines[s + k][1][indent:] if s + k < len(lines) else "(end of the EXAMPLE section)"
print("FAIL ws.h's EXAMPLE differs from %s at its line %d (ws.h line %d): expected %r, found %r"
      % (example, k + 1, where, want[k], found))
sys.exit(1)
