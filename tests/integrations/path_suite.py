#!/usr/bin/env python3
"""The conformance suite's server mode (tests/conformance/server_suite.py), unchanged, against
a server whose WebSocket endpoint is one path, as build/mhd_server's /ws is: every request
the suite builds goes to that path instead of /, a query string it adds kept (case 0.7).
Raw requests (garbage, oversized heads) go as they are.

    python3 tests/integrations/path_suite.py --ws-path /ws --port P [server_suite.py options]
"""
import os
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "conformance"))
import server_suite  # noqa: E402

args = sys.argv[1:]
if "--ws-path" not in args or args.index("--ws-path") + 1 >= len(args):
    sys.exit("usage: path_suite.py --ws-path PATH --port P [server_suite.py options]")
i = args.index("--ws-path")
ws_path = args[i + 1]
del args[i:i + 2]

suite_request = server_suite.Ctx.request_bytes


def request_bytes(self, method="GET", path="/", version="HTTP/1.1", headers=None, key=None):
    _, q, query = path.partition("?")
    return suite_request(self, method, ws_path + q + query, version, headers, key)


server_suite.Ctx.request_bytes = request_bytes
print("# every request of the suite goes to %s" % ws_path)
sys.argv = [sys.argv[0]] + args
sys.exit(server_suite.main())
