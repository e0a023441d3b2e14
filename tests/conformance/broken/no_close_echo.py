#!/usr/bin/env python3
"""Broken echo peer with exactly one defect: a close frame is never answered: the TCP connection is just dropped.

    no_close_echo.py server PORT | client URL [AGENT]
Everything else is base.py's correct behaviour.
"""
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import base  # noqa: E402

base.main(echo_close=False)
