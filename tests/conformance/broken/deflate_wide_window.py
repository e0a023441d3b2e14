#!/usr/bin/env python3
"""Broken echo peer with exactly one defect: permessage-deflate compressed with a
window of 2^15 bytes, whatever window was agreed (server_max_window_bits for a server,
client_max_window_bits for a client: RFC 7692 7.1.2). Caught by the suite's distance
check (pmd.scan_distances), and by zlib for messages over 32 KiB.

    deflate_wide_window.py server PORT | client URL [AGENT]
Everything else is base.py's correct behaviour.
"""
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import base  # noqa: E402

base.main(pmd_window=False)
