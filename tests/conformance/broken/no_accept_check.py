#!/usr/bin/env python3
"""Broken echo peer with exactly one defect: as a client, the handshake response is not checked (wrong Accept, missing Upgrade, unoffered subprotocol... all accepted).

    no_accept_check.py server PORT | client URL [AGENT]
Everything else is base.py's correct behaviour.
"""
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import base  # noqa: E402

base.main(check_accept=False)
