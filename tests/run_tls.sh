#!/usr/bin/env bash
# ws.h's TLS layer (WS_MBEDTLS): tests/tls/tls_check.c, a server and a client ws_tls under
# ws_conn exchanging ciphertext in memory, built twice: gcc with ASan+UBSan (every check),
# and plain -O2 (the same checks, and the heap bytes mbedTLS holds per connection, which
# ASan's allocator cannot report). The certificates are made here by
# tests/tls/make_certs.sh with openssl. The last line is "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
. tests/lib.sh
command -v openssl >/dev/null || skip "no openssl (apt-get install openssl)"
[ -f /usr/include/mbedtls/ssl.h ] || skip "no mbedTLS headers (apt-get install libmbedtls-dev)"
mkdir -p "$BUILD"
if ! bash tests/tls/make_certs.sh "$tmp/pki" >"$tmp/certs.log" 2>&1; then
    ko "test certificates (tests/tls/make_certs.sh)"; show "$tmp/certs.log"; finish
fi
libs="-lmbedtls -lmbedx509 -lmbedcrypto"
# the layer compiles as cleanly as the core: the strict warnings, gcc and clang, and C++
printf '#define WS_MBEDTLS\n#define WS_IMPLEMENTATION\n#include "ws.h"\n' >"$tmp/impl.c"
strict="-std=c99 -Wall -Wextra -Wpedantic -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wcast-qual -Wundef -Wconversion -Wsign-conversion"
for cc in gcc clang; do
    command -v $cc >/dev/null || continue
    if $cc $strict -I. -c "$tmp/impl.c" -o "$tmp/impl_$cc.o" 2>"$tmp/strict.log"; then
        ok "WS_MBEDTLS builds under $cc's strictest warnings"
    else ko "WS_MBEDTLS under $cc's strict warnings"; show "$tmp/strict.log"; fi
done
if g++ -x c++ -std=c++11 -Wall -Wextra -Werror -I. -c "$tmp/impl.c" -o "$tmp/impl_cpp.o" 2>"$tmp/cpp.log"; then
    ok "WS_MBEDTLS compiles as C++11"
else ko "WS_MBEDTLS as C++11"; show "$tmp/cpp.log"; fi
warn="-std=c99 -Wall -Wextra -Wpedantic -Werror -Wshadow"
for b in asan plain; do
    if [ $b = asan ]; then flags="-O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all"
    else flags="-O2 -g"; fi
    if ! gcc $warn $flags tests/tls/tls_check.c $libs -o "$BUILD/tls_check_$b" 2>"$tmp/cc.log"; then
        ko "build tls_check ($b)"; show "$tmp/cc.log"; continue
    fi
    timeout 120 "$BUILD/tls_check_$b" "$tmp/pki" >"$tmp/$b.log" 2>&1
    status=$?
    while read -r line; do
        case $line in
            PASS\ *) ok "$b: ${line#PASS }" ;;
            FAIL\ *) ko "$b: ${line#FAIL }" ;;
            bytes\ per*) echo "    $line" ;;
        esac
    done <"$tmp/$b.log"
    if [ $status -ne 0 ] && ! grep -q '^FAIL' "$tmp/$b.log"; then
        ko "tls_check ($b) exited $status"; show "$tmp/$b.log"
    fi
done
finish
