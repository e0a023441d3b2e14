#!/usr/bin/env bash
# Proves the conformance suites can fail: runs them against a correct control peer and
# against deliberately broken peers (tests/conformance/broken/), each with one defect, and
# asserts that exactly the defect's cases FAIL. With --peers, also runs Node ws and Python
# websockets and asserts that only their known deviations show.
# Ends with "N passed, N failed"; exit status non-zero on failure. Bounded to 15 minutes.
set -u
cd "$(dirname "$0")"
exec timeout -k 5 900 python3 selftest.py "$@"
