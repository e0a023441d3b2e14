# Shared by the tests/run_*.sh scripts: counters, cleanup of every process started (by PID),
# free loopback ports. Source it from the repository root: `. tests/lib.sh`.
# Each script prints one line per check and ends with finish: "N passed, N failed", or
# "N passed, N failed, N skipped" when something could not run here (tests/run_all.sh adds
# the skips up and names the suites).
BUILD=${BUILD:-build}
pass=0
fail=0
skipped=0
pids=()
tmp=$(mktemp -d)
cleanup() {
    local p
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
    rm -rf "$tmp"
}
trap cleanup EXIT

ok() { pass=$((pass + 1)); echo "PASS $*"; }
ko() { fail=$((fail + 1)); echo "FAIL $*"; }
finish() {
    if [ "$skipped" -gt 0 ]; then echo "$pass passed, $fail failed, $skipped skipped"
    else echo "$pass passed, $fail failed"; fi
    [ "$fail" -eq 0 ]
    exit
}
# A missing tool skips on a developer's machine, visibly ("SKIP reason", counted in the
# summary); under CI, which installs every tool (tests/deps.sh), it is a failure.
#   skip REASON          the rest of the suite cannot run: ends it
#   skip_check REASON    one check or part cannot run; the suite goes on
skip_check() {
    if [ -n "${CI:-}" ]; then ko "$* (CI installs it: tests/deps.sh)"; return; fi
    skipped=$((skipped + 1)); echo "SKIP $*"
}
skip() { skip_check "$@"; finish; }
show() { sed 's/^/    | /' "$1" | tail -n 25; }
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
wait_for() {    # PATTERN FILE: up to 10 s
    local i
    for i in $(seq 200); do grep -q "$1" "$2" 2>/dev/null && return 0; sleep 0.05; done
    return 1
}
# lines LOG PREFIX: one check per "ok ..." / "FAIL ..." line a peer program printed
lines() {
    local line
    while read -r line; do
        case $line in
            ok\ *) ok "$2$(sed -E 's/^ok +//' <<<"$line")" ;;
            FAIL\ *) ko "$2$(sed -E 's/^FAIL +//' <<<"$line")" ;;
        esac
    done <"$1"
}
# start_relay TARGET_PORT LOG: tests/interop/relay.py between a peer and 127.0.0.1:TARGET_PORT,
# watching the frames (RSV1) both ways; sets relay_port (empty if it did not start). Check
# its LOG with `python3 tests/interop/relay.py check LOG LABEL [N]` once the peers are done.
start_relay() {
    relay_port=
    timeout 170 python3 tests/interop/relay.py "$1" 160 >"$2" 2>&1 &
    pids+=("$!")
    wait_for listening "$2" && relay_port=$(sed -n 's/^listening //p' "$2" | head -n 1)
}
# relay_check LOG LABEL [N]: N connection lines (default 1) in LOG, then relay.py check's
# lines as checks
relay_check() {
    local i n=${3:-1}
    for i in $(seq 100); do [ "$(grep -c '^{' "$1")" -ge "$n" ] && break; sleep 0.1; done
    python3 tests/interop/relay.py check "$1" "$2" "$n" >"$1.check" 2>&1
    lines "$1.check" ""
    grep -q '^ok ' "$1.check" || { ko "$2: relay.py check printed no result"; show "$1.check"; }
}
