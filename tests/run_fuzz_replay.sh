#!/usr/bin/env bash
# Replays every input of fuzz/corpus/<target>/ (seeds, inputs the fuzzers found, and every
# crash ever found, kept as crash-<bug>) through its fuzz target, built without libFuzzer
# (fuzz/replay.c), all under ASan+UBSan, four ways: gcc, clang, gcc -m32 (32-bit size_t
# against 64-bit frame lengths, portable code) and gcc -DWS_NO_SIMD (the portable masking
# and UTF-8 code on x86-64). The targets check what ws.h promises and abort on a broken
# promise, so a regression fails here. `make test` builds the replay drivers (fuzz/fuzz.mk).
# One check per target per build; the last line is "N passed, N failed" (", N skipped"
# follows when gcc cannot build -m32 here: a skip, which under CI is a failure).
set -u
cd "$(dirname "$0")/.."
. tests/lib.sh
CC=${CC:-gcc}
skipped=0
builds="gcc clang m32 nosimd"

# Can this machine link a sanitized 32-bit program? (Debian: apt-get install gcc-multilib)
m32_ok=1
echo 'int main(void) { return 0; }' |
    $CC -m32 -fsanitize=address,undefined -x c - -o "$tmp/m32-probe" 2>"$tmp/m32-probe.err" || m32_ok=0

for dir in fuzz/corpus/*/; do
    dir=${dir%/}
    t=$(basename "$dir")
    files=$(find "$dir" -maxdepth 1 -type f | wc -l)
    for b in $builds; do
        bin=$BUILD/replay_${t}_$b
        log=$tmp/$t-$b.log
        if [ ! -x "$bin" ]; then
            if [ "$b" = m32 ] && [ $m32_ok = 0 ]; then
                if [ -n "${CI:-}" ]; then
                    ko "$t (m32): $CC -m32 cannot link here (CI installs gcc-multilib: .ci/run)"
                else
                    echo "SKIP $t (m32): $CC -m32 cannot link here (apt-get install gcc-multilib)"
                    skipped=$((skipped + 1))
                fi
            else
                ko "$t ($b): $bin missing (make test builds it)"
            fi
            continue
        fi
        timeout 300 "$bin" "$dir" >"$log" 2>"$log.err"
        status=$?
        if [ $status -eq 0 ] && grep -qx "replay_${t}_$b: $files inputs" "$log" && [ "$files" -gt 0 ]; then
            ok "$t ($b): $files inputs, every check held"
        else
            ko "$t ($b): exit $status at input $(grep -c '^fuzz/corpus/' "$log.err") of $files: $(grep '^fuzz/corpus/' "$log.err" | tail -n 1)"
            show "$log.err"
        fi
    done
done
if [ $skipped -gt 0 ]; then
    [ $m32_ok = 0 ] && show "$tmp/m32-probe.err"
    echo "$pass passed, $fail failed, $skipped skipped"
    [ "$fail" -eq 0 ]
    exit
fi
finish
