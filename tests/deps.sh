#!/usr/bin/env bash
# What ws.h's tests need beyond a C compiler and make: the one list of Debian packages,
# used by `make test` and by .ci/run. npm's packages are pinned by package-lock.json and
# installed by `make node` (npm ci).
#
#   tests/deps.sh            root with apt-get: installs what is missing (apt-get update
#                            first, only then). Otherwise, or with NO_INSTALL=1: names what
#                            is missing, which suites skip for it, and the one command that
#                            installs it. Never fails: the suites say what they skipped.
#   tests/deps.sh --check    names what is missing, installs nothing; exit 1 if anything is
#   tests/deps.sh --list     the Debian packages, one a line
#
# Each entry is checked by what the tests use (a command, a sanitizer runtime that links,
# a Python module, a font), not by dpkg, so tools installed another way count.
set -u
cd "$(dirname "$0")/.."
mode=${1:-install}
case $mode in
    install|--check|--list) ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "usage: tests/deps.sh [--check|--list]" >&2; exit 2 ;;
esac

CC=${CC:-gcc}
CLANG=${CLANG:-clang}
CXX=${CXX:-g++}
probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
echo 'int main(void) { return 0; }' >"$probe/p.c"
SAN='-fsanitize=address,undefined'

have() { command -v "$1" >/dev/null 2>&1; }
# links an ASan+UBSan program with compiler $1 and extra flags $2
links() { have "$1" && "$1" ${2:-} $SAN "$probe/p.c" -o "$probe/p" >/dev/null 2>&1; }
# a font family fontconfig knows, or failing that the Debian package that ships it
font() { { have fc-list && fc-list : family | grep -qi "$1"; } || dpkg -s "$2" >/dev/null 2>&1; }
has_chromium() {
    [ -n "${CHROMIUM:-}" ] && [ -x "$CHROMIUM" ] && return 0
    have chromium || have chromium-browser || have google-chrome
}
arch=$(dpkg --print-architecture 2>/dev/null || uname -m)

# package | check that holds when it is there | what needs it
list() {
    local rt=libclang-rt-dev    # clang's runtime is named for its major version, once known
    have "$CLANG" && rt=libclang-rt-$("$CLANG" -dumpversion | cut -d. -f1)-dev
    entries=(
        "make|have make|everything"
        "gcc|have $CC && links $CC|every build"
        "binutils|have nm|the no-heap check (nm)"
        "g++|have $CXX|the C++11 build check"
        "clang|have $CLANG|the clang builds: strict, freestanding, unit-clang, clang fuzz replays"
        "$rt|links $CLANG|clang's ASan+UBSan runtime: unit-clang, clang fuzz replays, make fuzz"
        "procps|have ps && have pgrep|the example suites (server PIDs)"
        "python3|[ -x /usr/bin/python3 ] && have python3|the example, conformance and adversarial suites"
        "python3-websockets|/usr/bin/python3 -c 'import websockets'|interop_python, wscat, chat, shared_port, selftest"
        "nodejs|have node|interop_node, browser, chat and shared_port in Chromium, selftest"
        "npm|have npm|make node (npm ci: ws, playwright-core)"
        "ca-certificates|[ -s /etc/ssl/certs/ca-certificates.crt ]|npm ci over https"
        "chromium|has_chromium|browser, chat and shared_port in Chromium"
        "fonts-noto-cjk|font 'Noto Sans CJK' fonts-noto-cjk|the chat screenshot's Chinese text"
        "fonts-noto-color-emoji|font 'Noto Color Emoji' fonts-noto-color-emoji|the chat screenshot's emoji"
        "valgrind|have valgrind|analysis (memcheck)"
        "cppcheck|have cppcheck|analysis"
        "clang-tidy|have clang-tidy|analysis"
        "libmbedtls-dev|[ -f /usr/include/mbedtls/ssl.h ]|tls (ws.h's WS_MBEDTLS layer)"
        "openssl|have openssl|tls (the test certificates, made at test time)"
        "tinyproxy|have tinyproxy|wss (wscat --proxy through a real HTTP proxy)"
        "libuv1-dev|[ -f /usr/include/uv.h ]|uv (examples/uv_echo.c on libuv)"
        "libmicrohttpd-dev|[ -f /usr/include/microhttpd.h ]|mhd (examples/mhd_server.c in libmicrohttpd)"
        "redis-server|have redis-server|scale (chat_server --redis: rooms shared by 3 processes)"
        "libhiredis-dev|[ -f /usr/include/hiredis/async.h ]|scale (chat_server --redis, hiredis' async API)"
        "nginx-light|have nginx|scale (nginx in front of 3 chat_server processes, ws and wss)"
        "zlib1g-dev|[ -f /usr/include/zlib.h ]|deflate (zlib: the test's reference, never ws.h's)"
        "gcc-arm-none-eabi|have arm-none-eabi-gcc|firmware (the unit suite on a Cortex-M4)"
        "libnewlib-arm-none-eabi|[ -f \"\$(arm-none-eabi-gcc -print-file-name=rdimon.specs)\" ]|firmware (newlib, semihosting)"
        "qemu-system-arm|have qemu-system-arm|firmware (qemu -M mps2-an386)"
        "gcc-mips-linux-gnu|have mips-linux-gnu-gcc|cross (32-bit big-endian MIPS)"
        "libc6-dev-mips-cross|[ -f /usr/mips-linux-gnu/lib/libc.a ]|cross (static MIPS binaries)"
        "gcc-s390x-linux-gnu|have s390x-linux-gnu-gcc|cross (64-bit big-endian s390x)"
        "libc6-dev-s390x-cross|[ -f /usr/s390x-linux-gnu/lib/libc.a ]|cross (static s390x binaries)"
        "qemu-user|have qemu-mips && have qemu-s390x|cross (qemu-mips, qemu-s390x)"
    )
    # 32-bit replays (gcc -m32) where the machine has a 32-bit sibling: gcc-N-multilib, not
    # the gcc-multilib metapackage, which Debian 12's cross compilers above conflict with
    local ml=gcc-multilib
    have "$CC" && "$CC" -dumpversion | grep -qE '^[0-9]+$' && ml=gcc-$("$CC" -dumpversion)-multilib
    if [ "$arch" = amd64 ] || [ "$arch" = x86_64 ]; then
        entries+=("$ml|links $CC -m32|the 32-bit fuzz replays (gcc -m32)")
    fi
}
list

if [ "$mode" = --list ]; then
    for e in "${entries[@]}"; do echo "${e%%|*}"; done
    exit 0
fi

missing=() why=()
scan() {
    local e pkg rest test use
    missing=() why=()
    for e in "${entries[@]}"; do
        pkg=${e%%|*}; rest=${e#*|}; test=${rest%%|*}; use=${rest#*|}
        eval "$test" >/dev/null 2>&1 || { missing+=("$pkg"); why+=("$use"); }
    done
}
# Node itself may be too old for what package-lock.json pins (it pins what runs on Debian 12's 18)
node_too_old() {
    local need have_v
    need=$(sed -nE 's/.*"node": ">=([0-9]+).*/\1/p' package-lock.json 2>/dev/null | sort -n | tail -n 1)
    have node && [ -n "$need" ] || return 1
    have_v=$(node -p 'process.versions.node' 2>/dev/null) || return 1
    [ "${have_v%%.*}" -lt "$need" ] || return 1
    echo "tests/deps.sh: node $have_v is older than package-lock.json asks (>= $need): the"
    echo "  Node suites that need it will fail. Install Node $need or newer (NodeSource, nvm)."
}
old_node=$(node_too_old)

scan
[ -n "$old_node" ] && echo "$old_node"
[ ${#missing[@]} -eq 0 ] && { [ -z "$old_node" ] || [ "$mode" != --check ]; exit; }

if [ "$mode" = install ] && [ -z "${NO_INSTALL:-}" ] && [ "$(id -u)" = 0 ] && have apt-get; then
    echo "tests/deps.sh: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    lock=(-o DPkg::Lock::Timeout=600)    # wait for an apt-get already running
    apt-get "${lock[@]}" update -q >/dev/null &&
        apt-get "${lock[@]}" install -y -q --no-install-recommends "${missing[@]}" >"$probe/apt.log" 2>&1 ||
        { echo "tests/deps.sh: apt-get failed:"; tail -n 15 "$probe/apt.log"; }
    list    # clang's runtime is named for clang's version: known now
    scan
    [ ${#missing[@]} -eq 0 ] && { echo "tests/deps.sh: everything the tests need is installed"; exit 0; }
    echo "tests/deps.sh: apt-get ran, but these are still not found (PATH?)"
fi

echo "tests/deps.sh: missing what some tests need; those tests are skipped, and say so:"
for i in "${!missing[@]}"; do printf '    %-24s %s\n' "${missing[$i]}" "${why[$i]}"; done
sudo=; [ "$(id -u)" = 0 ] || sudo='sudo '
if have apt-get; then
    echo "  install them with: ${sudo}apt-get update && ${sudo}apt-get install -y --no-install-recommends ${missing[*]}"
else
    echo "  (Debian package names; no apt-get here) install the equivalents of: ${missing[*]}"
fi
[ "$mode" = --check ] && exit 1
exit 0
