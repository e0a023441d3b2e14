#!/usr/bin/env python3
"""Broken echo peer with exactly one defect: masking is not checked: as a server it accepts unmasked client frames, as a client it accepts masked server frames.

    unmasked_accepted.py server PORT | client URL [AGENT]
Everything else is base.py's correct behaviour.
"""
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import base  # noqa: E402

base.main(check_mask=False)
