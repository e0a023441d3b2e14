# Shared by the tests/run_*.sh scripts: counters, cleanup of every process started (by PID),
# free loopback ports. Source it from the repository root: `. tests/lib.sh`.
# Each script prints one line per check and ends with finish: "N passed, N failed".
BUILD=${BUILD:-build}
pass=0
fail=0
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
finish() { echo "$pass passed, $fail failed"; [ "$fail" -eq 0 ]; exit; }
# A missing tool skips a suite on a developer's machine; under CI, which installs every
# tool, it is a failure.
skip() {
    if [ -n "${CI:-}" ]; then echo "FAIL $* (CI installs it: .ci/run)"; echo "0 passed, 1 failed"; exit 1; fi
    echo "SKIP $*"; echo "0 passed, 0 failed, 1 skipped"; exit 0
}
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
