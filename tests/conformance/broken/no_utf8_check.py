#!/usr/bin/env python3
"""Broken echo peer with exactly one defect: text messages and close reasons are not checked for UTF-8 (no 1007).

    no_utf8_check.py server PORT | client URL [AGENT]
Everything else is base.py's correct behaviour.
"""
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import base  # noqa: E402

base.main(check_utf8=False)
