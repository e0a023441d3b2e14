#!/usr/bin/env bash
# Runs every test suite of ws.h and ends with the total: "N passed, N failed".
# Each suite is a command whose last summary line reads "N passed, N failed"; a suite that
# exits non-zero, or prints no summary, counts as one more failure.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
export BUILD
total_pass=0
total_fail=0
failed_suites=()

count() {   # name, exit status, output file
    local name=$1 status=$2 out=$3 line p f
    line=$(grep -E '^([A-Za-z_-]+: )?[0-9]+ passed, [0-9]+ failed' "$out" | tail -n 1)
    if [ -z "$line" ]; then
        p=0; f=1
        echo "$name: no summary line (exit $status)"
    else
        p=$(sed -E 's/^([A-Za-z_-]+: )?([0-9]+) passed, ([0-9]+) failed.*/\2/' <<<"$line")
        f=$(sed -E 's/^([A-Za-z_-]+: )?([0-9]+) passed, ([0-9]+) failed.*/\3/' <<<"$line")
        if [ "$status" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    fi
    total_pass=$((total_pass + p))
    total_fail=$((total_fail + f))
    [ "$f" -ne 0 ] && failed_suites+=("$name")
    printf '%-22s %s passed, %s failed\n' "$name" "$p" "$f"
}

suite() {   # name, command...
    local name=$1 out status
    shift
    out=$(mktemp)
    echo "== $name: $*"
    "$@" >"$out" 2>&1
    status=$?
    # quiet when it passes, everything when it does not
    if [ $status -ne 0 ] || ! grep -qE '[1-9][0-9]* passed, 0 failed|^([A-Za-z_-]+: )?0 passed, 0 failed' "$out"; then
        cat "$out"
    else
        grep -E 'FAIL|passed' "$out" | tail -n 30
    fi
    count "$name" $status "$out"
    rm -f "$out"
}

# Build checks that make already ran: one test each, so the total says what was checked.
builds() {
    local p=0 f=0 obj
    for obj in compile_cpp.o static_link strict_gcc.o strict_clang.o freestanding_gcc.o \
               freestanding_clang.o impl_O2.o; do
        if [ -e "$BUILD/$obj" ]; then echo "PASS built $obj"; p=$((p + 1));
        else echo "FAIL missing $BUILD/$obj"; f=$((f + 1)); fi
    done
    # zero allocation: the compiled implementation references no heap function
    for obj in impl_O2.o freestanding_gcc.o freestanding_clang.o; do
        if nm -u "$BUILD/$obj" | grep -wqE 'malloc|calloc|realloc|free'; then
            echo "FAIL $obj calls the heap: $(nm -u "$BUILD/$obj" | grep -wE 'malloc|calloc|realloc|free' | tr -s ' \n' ' ')"
            f=$((f + 1))
        else
            echo "PASS $obj references no heap function"; p=$((p + 1))
        fi
    done
    # the freestanding build needs nothing but what a compiler may call (memset/memcpy)
    for obj in freestanding_gcc.o freestanding_clang.o; do
        extra=$(nm -u "$BUILD/$obj" | awk '{print $2}' | grep -vxE 'memset|memcpy' | tr '\n' ' ')
        if [ -n "$extra" ]; then echo "FAIL $obj needs libc: $extra"; f=$((f + 1));
        else echo "PASS $obj needs no libc"; p=$((p + 1)); fi
    done
    echo "$p passed, $f failed"
    [ $f -eq 0 ]
}

suite builds builds
suite unit-gcc "$BUILD/test_ws_gcc"
suite unit-clang "$BUILD/test_ws_clang"
suite unit-nosimd "$BUILD/test_ws_nosimd"
for t in tests/run_*.sh; do
    [ "$t" = tests/run_all.sh ] && continue
    name=$(basename "$t" .sh); name=${name#run_}
    suite "$name" bash "$t"
done

echo
[ ${#failed_suites[@]} -gt 0 ] && echo "failed suites: ${failed_suites[*]}"
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
