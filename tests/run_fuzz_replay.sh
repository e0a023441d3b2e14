#!/usr/bin/env bash
# Replays every input of fuzz/corpus/<target>/ (seeds, inputs the fuzzers found, and every
# crash ever found, kept as crash-<bug>) through its fuzz target, built without libFuzzer
# (fuzz/replay.c) by gcc and by clang under ASan+UBSan. The targets check what ws.h
# promises and abort on a broken promise, so a regression fails here. `make test` builds
# the replay drivers (fuzz/fuzz.mk). One check per target per compiler; the last line is
# "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
. tests/lib.sh
for dir in fuzz/corpus/*/; do
    dir=${dir%/}
    t=$(basename "$dir")
    files=$(find "$dir" -maxdepth 1 -type f | wc -l)
    for cc in gcc clang; do
        bin=$BUILD/replay_${t}_$cc
        log=$tmp/$t-$cc.log
        if [ ! -x "$bin" ]; then ko "$t ($cc): $bin missing (make test builds it)"; continue; fi
        timeout 300 "$bin" "$dir" >"$log" 2>"$log.err"
        status=$?
        if [ $status -eq 0 ] && grep -qx "replay_${t}_$cc: $files inputs" "$log" && [ "$files" -gt 0 ]; then
            ok "$t ($cc): $files inputs, every check held"
        else
            ko "$t ($cc): exit $status at input $(grep -c '^fuzz/corpus/' "$log.err") of $files: $(grep '^fuzz/corpus/' "$log.err" | tail -n 1)"
            show "$log.err"
        fi
    done
done
finish
