#!/usr/bin/env bash
# The conformance suite tested itself: against broken peers with one defect each (every
# defect must be caught) and against Node ws and Python websockets (only their known
# deviations may show). About 5 minutes; ends with "N passed, N failed".
exec bash "$(dirname "$0")/conformance/run_selftest.sh" --peers
