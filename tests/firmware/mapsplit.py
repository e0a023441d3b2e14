#!/usr/bin/env python3
"""mapsplit.py - flash and RAM of a firmware image, split by the object file they came from.

    tests/firmware/mapsplit.py build/firmware/echo_fw.map ws_impl.o

Reads GNU ld's map file: every input section placed in the image, with its size and its
object (or archive member). Flash is what the image loads (.vectors, .text, .rodata,
.ARM.exidx, and the initial values of .data); RAM is .data, .bss and the stack. Prints
"flash NAME BYTES" and "ram NAME BYTES" for the object named (ws.h's bytes: its input
sections, merged string constants counted before merging, so at most a few bytes over),
"rest" (the image's total less that: the other objects, libgcc, alignment), the totals
(the output sections' sizes), and the libraries the link took members from ("lib NAME").
"""
import re
import sys

FLASH = (".vectors", ".text", ".ARM.exidx", ".rodata")
RAM_ALSO_FLASH = (".data",)
RAM = (".bss", ".stack")


def main():
    path, ours = sys.argv[1], sys.argv[2]
    text = open(path, encoding="utf-8").read()
    body = text[text.index("Linker script and memory map"):]
    out = None
    pending = None
    total = {"flash": 0, "ram": 0}
    mine = {"flash": 0, "ram": 0}
    libs = set()
    for line in body.split("\n"):
        m = re.match(r"^(\.[\w.]+)\s+(0x[0-9a-f]+)\s+(0x[0-9a-f]+)", line)
        if m:                               # an output section: its real size
            out = m.group(1)
            size = int(m.group(3), 16)
            if out in FLASH or out in RAM_ALSO_FLASH:
                total["flash"] += size
            if out in RAM or out in RAM_ALSO_FLASH:
                total["ram"] += size
            continue
        if re.match(r"^\S", line):
            out = line.split()[0] if line.startswith(".") else None
            continue
        sm = re.match(r"^ (\.\S+)\s*$", line)
        if sm:
            pending = sm.group(1)
            continue
        im = re.match(r"^ (\.\S+)?\s+0x[0-9a-f]+\s+(0x[0-9a-f]+)\s+(\S.*)$", line)
        if im and (im.group(1) or pending):
            size, obj = int(im.group(2), 16), im.group(3).strip()
            pending = None
            if "(" in obj:
                libs.add(re.sub(r"\(.*", "", obj).split("/")[-1])
            if obj.split("/")[-1] == ours:
                if out in FLASH or out in RAM_ALSO_FLASH:
                    mine["flash"] += size
                if out in RAM or out in RAM_ALSO_FLASH:
                    mine["ram"] += size
    for name in ("flash", "ram"):
        print(f"{name} {ours} {mine[name]}")
        print(f"{name} rest {total[name] - mine[name]}")
        print(f"{name} total {total[name]}")
    for lib in sorted(libs):
        print(f"lib {lib}")


if __name__ == "__main__":
    main()
