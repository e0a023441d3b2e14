#!/usr/bin/env python3
"""Broken echo peer with exactly one defect: permessage-deflate parameters not checked: the
server answers client_max_window_bits when the offer has none (RFC 7692 7.1.2.2), the
client takes an answer it must refuse (unknown, repeated or out-of-range parameters:
RFC 7692 5, 7.1) as a bare permessage-deflate.

    deflate_bad_params.py server PORT | client URL [AGENT]
Everything else is base.py's correct behaviour.
"""
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import base  # noqa: E402

base.main(pmd_params=False)
