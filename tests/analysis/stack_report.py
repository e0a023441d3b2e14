#!/usr/bin/env python3
"""Worst-case stack of every public ws.h function, from gcc's call graph.

Usage: stack_report.py FILE.ci [LIMIT]

FILE.ci comes from `gcc -fstack-usage -fcallgraph-info=su`: one node per function with its
frame size, one edge per call. For each public function (ws_*) this follows every call chain
down to its deepest point and prints the chain; calls through a function pointer (your
callbacks) end a chain, since their frames are yours. Prints one line per check and ends
with "N passed, N failed":
  - no recursion anywhere in the library (a cycle in the graph fails);
  - no frame of unbounded dynamic size (alloca, variable-length arrays);
  - every public entry point's deepest chain at most LIMIT bytes (default 496).
"""
import re
import sys

path = sys.argv[1]
limit = int(sys.argv[2]) if len(sys.argv) > 2 else 496
text = open(path, encoding="utf-8").read()

size, dynamic, name_of, edges = {}, set(), {}, {}
for m in re.finditer(r'node: \{ title: "([^"]+)" label: "([^"]*)"', text):
    title, label = m.group(1), m.group(2)
    parts = label.split("\\n")
    name_of[title] = parts[0]
    sm = re.search(r"(\d+) bytes \(([\w,]+)", label)
    size[title] = int(sm.group(1)) if sm else 0
    if sm and "dynamic" in label and "bounded" not in label:   # "dynamic,bounded" is fine
        dynamic.add(title)
for m in re.finditer(r'edge: \{ sourcename: "([^"]+)" targetname: "([^"]+)"', text):
    edges.setdefault(m.group(1), set()).add(m.group(2))

passed = failed = 0


def check(ok, what):
    global passed, failed
    if ok:
        passed += 1
        print("PASS " + what)
    else:
        failed += 1
        print("FAIL " + what)


# depth-first, with the worst chain of each node remembered; a node met again while it is
# still on the path is recursion
memo, on_path, cycles = {}, set(), []


def worst(node):
    if node in memo:
        return memo[node]
    if node in on_path:
        cycles.append(node)
        return (0, [])
    on_path.add(node)
    best = (0, [])
    for callee in edges.get(node, ()):
        sub = worst(callee)
        if sub[0] > best[0]:
            best = sub
    on_path.discard(node)
    memo[node] = (size.get(node, 0) + best[0], [node] + best[1])
    return memo[node]


public = sorted(t for t in size if re.fullmatch(r"ws_[a-z0-9_]+", name_of[t]))
results = [(worst(t), t) for t in public]
for t in size:
    worst(t)

check(not cycles, "no recursion" + ("" if not cycles else ": " + ", ".join(
    sorted({name_of.get(c, c) for c in cycles}))))
check(not dynamic, "no frame of dynamic size" + ("" if not dynamic else ": " + ", ".join(
    sorted(name_of[d] for d in dynamic))))
deepest = max(size, key=lambda t: size[t])
print(f"deepest single frame: {name_of[deepest]} {size[deepest]} bytes")
results.sort(key=lambda r: -r[0][0])
for (total, chain), t in results:
    pretty = " -> ".join(f"{name_of.get(n, n)} {size.get(n, 0)}" for n in chain)
    check(total <= limit, f"{name_of[t]}: {total} bytes (<= {limit}): {pretty}")
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
