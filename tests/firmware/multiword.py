#!/usr/bin/env python3
"""multiword.py - the multi-word memory accesses in ws.h's Cortex-M4 code, for review.

    arm-none-eabi-objdump -dl build/firmware/ws_m4.o | tests/firmware/multiword.py ws.h

A Cortex-M4 faults on an unaligned LDRD, STRD, LDM or STM (and LDREXD/STREXD); unaligned
LDR/STR/LDRH/STRH are allowed. This lists every such instruction whose base register is not
sp (sp is always word-aligned on the M4), with its function and the line of ws.h it comes
from, so a reader can check that each one goes through a pointer to a struct (whose
alignment C guarantees) and none through a byte buffer. The first line is a summary:
    multi-word: N in F functions, S on sp, K on other registers
"""
import re
import sys


def main():
    src = open(sys.argv[1]).read().split("\n") if len(sys.argv) > 1 else []
    fn = line = None
    on_sp = 0
    others = []                 # (function, instruction, line number)
    funcs = set()
    for text in sys.stdin:
        m = re.match(r"^[0-9a-f]+ <([^>]+)>:", text)
        if m:
            fn = m.group(1)
            continue
        m = re.match(r"^\S*?:(\d+)(?: \(discriminator \d+\))?$", text.strip())
        if m:                   # objdump -l: the source line of what follows
            line = int(m.group(1))
            continue
        m = re.match(r"^\s+[0-9a-f]+:\s+(?:[0-9a-f]{4} ?){1,2}\s+(\S+)\s+(.*)$", text)
        if not m:
            continue
        op, args = m.group(1), m.group(2).split("@")[0].strip()
        base = None
        if re.match(r"^(ldrd|strd|ldrexd|strexd)(\.w)?$", op):
            b = re.search(r"\[(\w+)", args)
            base = b.group(1) if b else "?"
        elif re.match(r"^(ldm|stm)(ia|db|fd|ea)?(\.w)?$", op):
            base = args.split(",")[0].strip().rstrip("!")
        elif op in ("push", "pop", "push.w", "pop.w"):
            base = "sp"
        if base is None:
            continue
        funcs.add(fn)
        if base == "sp":
            on_sp += 1
        else:
            others.append((fn, op + " " + args, line))
    print("multi-word: %d in %d functions, %d on sp, %d on other registers"
          % (on_sp + len(others), len(funcs), on_sp, len(others)))
    last = None
    for fn, ins, line in others:
        if fn != last:
            print(fn)
            last = fn
        code = src[line - 1].strip() if line and 0 < line <= len(src) else ""
        print("    %-28s ws.h:%-5s %s" % (ins, line or "?", code[:90]))


if __name__ == "__main__":
    main()
