#!/usr/bin/env bash
# Runs ws.h's test suites, the fast ones first, and ends with the total:
# "N passed, N failed", or "N passed, N failed, N skipped" when something could not run here,
# with the skipped suites named on the line above. Under CI (CI set) every skip is a failure:
# CI installs everything (tests/deps.sh).
#
#   tests/run_all.sh                 every suite (what `make test` runs after its builds)
#   tests/run_all.sh --tier check    the fast tier (`make check`)
#   tests/run_all.sh chat wscat      only these suites (`make test SUITE="chat wscat"`)
#   tests/run_all.sh --list          the suites in the order they run, with their tier
#
# A suite is a command whose last summary line reads "N passed, N failed" (", N skipped" may
# follow); one that exits non-zero, or prints no summary, counts as one more failure. Skips
# are counted from that summary and from the lines that start "SKIP " or "# skipped ".
# tests/README.md says what each suite checks and how long it takes.
set -u
{   # bash reads the whole block before it runs it: editing this file mid-run changes nothing
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
CLANG=${CLANG:-clang}
CXX=${CXX:-g++}
export BUILD

# ---- the suites, in the order they run ----------------------------------------------------
# check tier: a C compiler and make, well under a minute
CHECK_TIER=(builds unit-gcc unit-nosimd fuzz_replay)
# then the rest of `make test`, quickest first; a tests/run_NAME.sh not listed here runs
# after unit-clang, before the slow suites
SLOW=(readme examples minimal tls interop_python interop_node shared_port conformance browser
      wscat deflate loopback mhd uv adversarial chat scale wss firmware cross analysis selftest)

scripts=()
for t in tests/run_*.sh; do
    n=$(basename "$t" .sh); n=${n#run_}
    [ "$n" = all ] || scripts+=("$n")
done
listed() { local x; for x in "${CHECK_TIER[@]}" unit-clang "${SLOW[@]}"; do [ "$x" = "$1" ] && return 0; done; return 1; }
ORDER=("${CHECK_TIER[@]}" unit-clang)
for n in "${scripts[@]}"; do listed "$n" || ORDER+=("$n"); done
for n in "${SLOW[@]}"; do [ -f "tests/run_$n.sh" ] && ORDER+=("$n"); done
in_check() { local x; for x in "${CHECK_TIER[@]}"; do [ "$x" = "$1" ] && return 0; done; return 1; }
# chat, fuzz-replay and fuzz_replay are all the same name
norm() { tr '-' '_' <<<"$1"; }

usage() { sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; }
selected=()
while [ $# -gt 0 ]; do
    case $1 in
        -h|--help) usage; exit 0 ;;
        --list)
            for n in "${ORDER[@]}"; do in_check "$n" && echo "$n check" || echo "$n test"; done
            exit 0 ;;
        --tier)
            case ${2:-} in
                check) selected+=("${CHECK_TIER[@]}") ;;
                test) selected+=("${ORDER[@]}") ;;
                *) echo "run_all.sh: --tier check or --tier test" >&2; exit 2 ;;
            esac
            shift ;;
        -*) echo "run_all.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
        *) found=
           for n in "${ORDER[@]}"; do [ "$(norm "$n")" = "$(norm "$1")" ] && found=$n; done
           if [ -z "$found" ]; then
               echo "run_all.sh: no suite named '$1'; the suites: ${ORDER[*]}" >&2; exit 2
           fi
           selected+=("$found") ;;
    esac
    shift
done
[ ${#selected[@]} -gt 0 ] || selected=("${ORDER[@]}")

# ---- what this machine has: without these, their checks are skipped, not failed ---------------
have() { command -v "$1" >/dev/null 2>&1; }
san_links() {   # compiler: can it link an ASan+UBSan program?
    local d rc
    have "$1" || return 1
    d=$(mktemp -d)
    echo 'int main(void) { return 0; }' >"$d/p.c"
    "$1" -fsanitize=address,undefined "$d/p.c" -o "$d/p" >/dev/null 2>&1
    rc=$?
    rm -rf "$d"
    return $rc
}
no_clang=; have "$CLANG" || no_clang="no $CLANG (apt-get install clang)"
no_clang_san=$no_clang
[ -n "$no_clang" ] || san_links "$CLANG" ||
    no_clang_san="$CLANG cannot link ASan+UBSan (apt-get install libclang-rt-$("$CLANG" -dumpversion | cut -d. -f1)-dev)"
no_cxx=; have "$CXX" || no_cxx="no $CXX (apt-get install g++)"

total_pass=0 total_fail=0 total_skip=0
failed_suites=() skipped_suites=() skip_lines=()
t_start=$(date +%s)

count() {   # name, exit status, output file, seconds
    local name=$1 status=$2 out=$3 secs=$4 line p f s lines_n
    line=$(grep -E '^([A-Za-z_-]+: )?[0-9]+ passed, [0-9]+ failed' "$out" | tail -n 1)
    if [ -z "$line" ]; then
        p=0; f=1; s=0
        echo "$name: no summary line (exit $status)"
    else
        p=$(sed -E 's/^([A-Za-z_-]+: )?([0-9]+) passed, ([0-9]+) failed.*/\2/' <<<"$line")
        f=$(sed -E 's/^([A-Za-z_-]+: )?([0-9]+) passed, ([0-9]+) failed.*/\3/' <<<"$line")
        s=$(sed -nE 's/.* failed, ([0-9]+) skipped.*/\1/p' <<<"$line")
        s=${s:-0}
        if [ "$status" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    fi
    # a skip a suite printed but did not count (or counted in its summary only) still counts
    lines_n=$(grep -cE '^(SKIP |# skipped )' "$out")
    [ "$lines_n" -gt "$s" ] && s=$lines_n
    while IFS= read -r line; do
        skip_lines+=("$name: $(sed -E 's/^(SKIP |# skipped )//' <<<"$line")")
    done < <(grep -E '^(SKIP |# skipped )' "$out")
    if [ "$s" -gt 0 ] && [ -n "${CI:-}" ]; then
        echo "$name: $s skipped, a failure under CI (tests/deps.sh installs what is missing)"
        f=$((f + s)); s=0
    fi
    total_pass=$((total_pass + p))
    total_fail=$((total_fail + f))
    total_skip=$((total_skip + s))
    [ "$f" -ne 0 ] && failed_suites+=("$name")
    if [ "$s" -ne 0 ]; then
        if [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then skipped_suites+=("$name")
        else skipped_suites+=("$name ($s skipped of $((p + f + s)))"); fi
    fi
    if [ "$s" -ne 0 ]; then
        printf '%-22s %s passed, %s failed, %s skipped  (%d s)\n' "$name" "$p" "$f" "$s" "$secs"
    else
        printf '%-22s %s passed, %s failed  (%d s)\n' "$name" "$p" "$f" "$secs"
    fi
}

# A suite runs in the background with its output to a file; report() waits for it and
# prints it. The fast tier's suites start together (they use no port and no fixed timing),
# the others one at a time.
declare -A out_of job_of cmd_of
start() {   # name, command...
    local name=$1
    shift
    out_of[$name]=$(mktemp)
    cmd_of[$name]="$*"
    (
        t0=$(date +%s)
        "$@" >"${out_of[$name]}" 2>&1
        echo "$? $(($(date +%s) - t0))" >"${out_of[$name]}.rc"
    ) &
    job_of[$name]=$!
}
report() {  # name
    local name=$1 out=${out_of[$1]} status secs
    wait "${job_of[$name]}"
    read -r status secs <"$out.rc" || { status=1; secs=0; }
    echo "== $name: ${cmd_of[$name]}"
    # quiet when it passes, everything when it does not
    if [ "$status" -ne 0 ] || ! grep -qE '[1-9][0-9]* passed, 0 failed|^([A-Za-z_-]+: )?0 passed, 0 failed' "$out"; then
        cat "$out"
    else
        grep -E 'FAIL|^SKIP |^# skipped |passed' "$out" | tail -n 30
    fi
    count "$name" "$status" "$out" "$secs"
    rm -f "$out" "$out.rc"
}

# Build checks that make already ran: one test each, so the total says what was checked.
builds() {
    local p=0 f=0 s=0 obj why extra
    for obj in compile_cpp.o static_link strict_gcc.o strict_clang.o freestanding_gcc.o \
               freestanding_clang.o impl_O2.o; do
        case $obj in compile_cpp.o) why=$no_cxx ;; *clang*) why=$no_clang ;; *) why= ;; esac
        if [ -e "$BUILD/$obj" ]; then echo "PASS built $obj"; p=$((p + 1))
        elif [ -n "$why" ]; then echo "SKIP $obj: $why"; s=$((s + 1))
        else echo "FAIL missing $BUILD/$obj"; f=$((f + 1)); fi
    done
    # zero allocation: the compiled implementation references no heap function
    for obj in impl_O2.o freestanding_gcc.o freestanding_clang.o; do
        [ -e "$BUILD/$obj" ] || continue    # reported above
        if nm -u "$BUILD/$obj" | grep -wqE 'malloc|calloc|realloc|free'; then
            echo "FAIL $obj calls the heap: $(nm -u "$BUILD/$obj" | grep -wE 'malloc|calloc|realloc|free' | tr -s ' \n' ' ')"
            f=$((f + 1))
        else
            echo "PASS $obj references no heap function"; p=$((p + 1))
        fi
    done
    # the freestanding build needs nothing but what a compiler may call (memset/memcpy)
    for obj in freestanding_gcc.o freestanding_clang.o; do
        [ -e "$BUILD/$obj" ] || continue
        extra=$(nm -u "$BUILD/$obj" | awk '{print $2}' | grep -vxE 'memset|memcpy' | tr '\n' ' ')
        if [ -n "$extra" ]; then echo "FAIL $obj needs libc: $extra"; f=$((f + 1));
        else echo "PASS $obj needs no libc"; p=$((p + 1)); fi
    done
    if [ $s -gt 0 ]; then echo "$p passed, $f failed, $s skipped"; else echo "$p passed, $f failed"; fi
    [ $f -eq 0 ]
}

unit() {    # binary, reason it may be missing (empty: it must be there)
    if [ -x "$1" ]; then "$1"; return; fi
    if [ -n "$2" ]; then echo "SKIP $2"; echo "0 passed, 0 failed, 1 skipped"; return 0; fi
    echo "FAIL $1 is missing (make checks builds it)"; echo "0 passed, 1 failed"; return 1
}

start_suite() {
    case $1 in
        builds) start builds builds ;;
        unit-gcc) start unit-gcc unit "$BUILD/test_ws_gcc" "" ;;
        unit-nosimd) start unit-nosimd unit "$BUILD/test_ws_nosimd" "" ;;
        unit-clang) start unit-clang unit "$BUILD/test_ws_clang" "$no_clang_san" ;;
        *) start "$1" bash "tests/run_$1.sh" ;;
    esac
}
fast() { case $1 in builds|unit-*|fuzz_replay) return 0 ;; esac; return 1; }
for n in "${selected[@]}"; do fast "$n" && start_suite "$n"; done
for n in "${selected[@]}"; do
    fast "$n" || start_suite "$n"
    report "$n"
done

echo
secs=$(($(date +%s) - t_start))
echo "${#selected[@]} suites in $((secs / 60)) min $((secs % 60)) s"
if [ ${#skip_lines[@]} -gt 0 ] && [ -z "${CI:-}" ]; then
    echo "skipped here (tests/deps.sh names what to install):"
    printf '    %s\n' "${skip_lines[@]}"
fi
[ ${#failed_suites[@]} -gt 0 ] && echo "failed suites: ${failed_suites[*]}"
if [ ${#skipped_suites[@]} -gt 0 ]; then
    line="skipped suites: ${skipped_suites[0]}"
    for n in "${skipped_suites[@]:1}"; do line+=", $n"; done
    echo "$line"
fi
if [ "$total_skip" -gt 0 ]; then
    echo "$total_pass passed, $total_fail failed, $total_skip skipped"
else
    echo "$total_pass passed, $total_fail failed"
fi
[ "$total_fail" -eq 0 ]
exit
}
