#!/usr/bin/env bash
# Replays every input of fuzz/corpus/<target>/ (seeds, inputs the fuzzers found, and every
# crash ever found, kept as crash-<bug>) through its fuzz target, built without libFuzzer
# (fuzz/replay.c), all under ASan+UBSan, four ways: gcc, clang, gcc -m32 (32-bit size_t
# against 64-bit frame lengths, portable code) and gcc -DWS_NO_SIMD (the portable masking
# and UTF-8 code on x86-64). The targets check what ws.h promises and abort on a broken
# promise, so a regression fails here. `make test` builds the replay drivers (fuzz/fuzz.mk).
# One check per target per build; the last line is "N passed, N failed" (", N skipped"
# follows when a build cannot be made here, without clang or gcc-N-multilib: a skip, which
# under CI is a failure). fuzz/corpus/tls/ (ws.h's TLS glue, fuzz_tls) needs mbedTLS: its
# own drivers, replay_tls_gcc, _clang and _nosimd DIR (no 32-bit mbedTLS on Debian),
# skipped where mbedTLS's headers are not installed.
set -u
cd "$(dirname "$0")/.."
. tests/lib.sh
CC=${CC:-gcc}
CLANG=${CLANG:-clang}
builds="gcc clang m32 nosimd"

# Why a build may be missing here: the Makefile leaves out what this machine cannot build
probe() {   # compiler flags...: can it link a sanitized program?
    echo 'int main(void) { return 0; }' |
        "$@" -fsanitize=address,undefined -x c - -o "$tmp/probe" 2>"$tmp/probe.err"
}
why_clang=; why_m32=
if ! command -v "$CLANG" >/dev/null; then why_clang="no $CLANG (apt-get install clang)"
elif ! probe "$CLANG"; then
    why_clang="$CLANG cannot link ASan+UBSan (apt-get install libclang-rt-$("$CLANG" -dumpversion | cut -d. -f1)-dev)"
fi
probe "$CC" -m32 || why_m32="$CC -m32 cannot link ASan+UBSan (apt-get install gcc-$($CC -dumpversion)-multilib)"

for dir in fuzz/corpus/*/; do
    dir=${dir%/}
    t=$(basename "$dir")
    files=$(find "$dir" -maxdepth 1 -type f | wc -l)
    these=$builds
    [ "$t" = tls ] && these="gcc clang nosimd"
    for b in $these; do
        bin=$BUILD/replay_$b                # every target in one driver per build
        args=("$t" "$dir")
        want="$t: $files inputs"
        if [ "$t" = tls ]; then             # fuzz_tls: drivers of its own
            bin=$BUILD/replay_tls_$b
            args=("$dir")
            want="replay_tls_$b: $files inputs"
        fi
        log=$tmp/$t-$b.log
        if [ ! -x "$bin" ]; then
            case $b in clang) why=$why_clang ;; m32) why=$why_m32 ;; *) why= ;; esac
            [ "$t" = tls ] && [ ! -f /usr/include/mbedtls/ssl.h ] &&
                why="no mbedTLS here (apt-get install libmbedtls-dev)"
            if [ -n "$why" ]; then skip_check "$t ($b): $why"
            else ko "$t ($b): $bin missing (make check builds it)"; fi
            continue
        fi
        timeout 300 "$bin" "${args[@]}" >"$log" 2>"$log.err"
        status=$?
        if [ $status -eq 0 ] && grep -qx "$want" "$log" && [ "$files" -gt 0 ]; then
            ok "$t ($b): $files inputs, every check held"
        else
            ko "$t ($b): exit $status at input $(grep -c '^fuzz/corpus/' "$log.err") of $files: $(grep '^fuzz/corpus/' "$log.err" | tail -n 1)"
            show "$log.err"
        fi
    done
done
finish
