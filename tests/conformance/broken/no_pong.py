#!/usr/bin/env python3
"""Broken echo peer with exactly one defect: pings are never answered.

    no_pong.py server PORT | client URL [AGENT]
Everything else is base.py's correct behaviour.
"""
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import base  # noqa: E402

base.main(answer_ping=False)
