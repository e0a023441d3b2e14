#!/usr/bin/env python3
"""Broken echo peer with exactly one defect: permessage-deflate compressed with the
context kept from one message to the next even when no_context_takeover was agreed
for what it sends (server_no_context_takeover for a server, client_no_context_takeover
for a client: RFC 7692 7.1.1).

    deflate_keeps_context.py server PORT | client URL [AGENT]
Everything else is base.py's correct behaviour.
"""
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import base  # noqa: E402

base.main(pmd_context=False)
