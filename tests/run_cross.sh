#!/usr/bin/env bash
# ws.h on big-endian CPUs under qemu-user: 32-bit MIPS (o32: 32-bit size_t against 64-bit
# frame lengths) and 64-bit s390x, both built with Debian's cross compilers, static, -O2, no
# sanitizers (tests/firmware/firmware.mk). Per CPU:
#   - the binaries are what they claim (ELF class and byte order, from readelf);
#   - every unit test passes, as many as on the host (build/test_ws_gcc --list);
#   - every fuzz corpus fuzz/corpus/<target>/ replays through its target (fuzz/replay.c),
#     every input read and every check held (but fuzz_tls's: it needs mbedTLS, which Debian
#     has for the host only).
# The two CPUs run side by side; every run is bounded by `timeout`. TEST_SEED=N is passed on.
# A missing cross compiler or qemu-user skips that CPU (a failure under CI).
# The last line is "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
. tests/lib.sh
ARCHES="mips s390x"
have() { command -v "$1" >/dev/null 2>&1; }
declare -A what=([mips]="ELF32 big endian" [s390x]="ELF64 big endian")
declare -A pkgs=([mips]="gcc-mips-linux-gnu libc6-dev-mips-cross qemu-user"
                 [s390x]="gcc-s390x-linux-gnu libc6-dev-s390x-cross qemu-user")
targets=$(cd fuzz/corpus && ls -d -- */ | tr -d / | grep -vx tls)

host_n=
if [ -x "$BUILD/test_ws_gcc" ]; then
    host_n=$("$BUILD/test_ws_gcc" --list | grep -c /)
elif gcc -std=c99 -I. tests/unit/*.c -o "$tmp/host_list" 2>/dev/null; then
    host_n=$("$tmp/host_list" --list | grep -c /)
fi

# run ARCH: everything for one CPU, results in $tmp/ARCH.*; the status line is its last
run() {
    local a=$1 t0 t n bins=()
    bins+=("$BUILD/test_ws_$a")
    for t in $targets; do bins+=("$BUILD/replay_${t}_$a"); done
    env -u MAKEFLAGS -u MFLAGS make --no-print-directory BUILD="$BUILD" "${bins[@]}" \
        >"$tmp/$a.make" 2>&1 || return
    t0=$(date +%s)
    timeout 600 "qemu-$a" "$BUILD/test_ws_$a" >"$tmp/$a.unit" 2>&1
    echo "$? $(($(date +%s) - t0))" >"$tmp/$a.unit.rc"
    for t in $targets; do
        t0=$(date +%s)
        timeout 300 "qemu-$a" "$BUILD/replay_${t}_$a" "fuzz/corpus/$t" >"$tmp/$a.$t" 2>"$tmp/$a.$t.err"
        echo "$? $(($(date +%s) - t0))" >"$tmp/$a.$t.rc"
    done
}

ran=()
for a in $ARCHES; do
    if ! have "${a}-linux-gnu-gcc" || ! have "qemu-$a"; then
        skip_check "$a: no ${a}-linux-gnu-gcc or qemu-$a (apt-get install ${pkgs[$a]})"
        continue
    fi
    run "$a" &
    pids+=($!)
    ran+=("$a")
done
for p in "${pids[@]}"; do wait "$p"; done
pids=()

for a in "${ran[@]}"; do
    bin=$BUILD/test_ws_$a
    if grep -q '^SKIP' "$tmp/$a.make" || [ ! -x "$bin" ]; then
        ko "$a: the build failed"; show "$tmp/$a.make"; continue
    fi
    hdr=$(readelf -h "$bin" 2>/dev/null)
    class=$(sed -nE 's/^ *Class: *//p' <<<"$hdr")
    endian=$(sed -nE 's/^ *Data: *2.s complement, //p' <<<"$hdr")
    machine=$(sed -nE 's/^ *Machine: *//p' <<<"$hdr")
    if [ "$class $endian" = "${what[$a]}" ]; then
        ok "$a: $bin is $class $endian $machine"
    else
        ko "$a: $bin is $class $endian $machine, not ${what[$a]}"
    fi
    read -r st secs <"$tmp/$a.unit.rc"
    summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$tmp/$a.unit" | tail -n 1)
    p=$(sed -E 's/ passed.*//' <<<"$summary")
    f=$(sed -E 's/.* passed, ([0-9]+) failed.*/\1/' <<<"$summary")
    seed=$(sed -nE 's/.*seed=([0-9]+).*/\1/p' "$tmp/$a.unit" | head -n 1)
    if [ "$st" -eq 0 ] && [ "$f" = 0 ] && { [ -z "$host_n" ] || [ "$p" = "$host_n" ]; }; then
        ok "$a: unit suite $summary${host_n:+ (the host lists $host_n tests)}, in $secs s"
    else
        ko "$a: unit suite: ${summary:-no summary} (exit $st${host_n:+, the host lists $host_n tests}), seed=$seed (TEST_SEED=$seed repeats it)"
        grep -E 'FAIL|^ {13}' "$tmp/$a.unit" | head -n 30 | sed 's/^/    | /'
        grep -qE '^[0-9]+ passed' "$tmp/$a.unit" || show "$tmp/$a.unit"
    fi
    for t in $targets; do
        files=$(find "fuzz/corpus/$t" -maxdepth 1 -type f | wc -l)
        read -r st secs <"$tmp/$a.$t.rc"
        if [ "$st" -eq 0 ] && grep -qx "replay_${t}_$a: $files inputs" "$tmp/$a.$t" && [ "$files" -gt 0 ]; then
            ok "$a: fuzz/corpus/$t: $files inputs replayed, every check held ($secs s)"
        else
            ko "$a: fuzz/corpus/$t: exit $st at input $(grep -c '^fuzz/corpus/' "$tmp/$a.$t.err") of $files: $(grep '^fuzz/corpus/' "$tmp/$a.$t.err" | tail -n 1)"
            show "$tmp/$a.$t.err"
        fi
    done
done
finish
