#!/usr/bin/env bash
# size.sh - ws.h's code size per configuration (`make size`), in the form of README's table.
#
# Compiles the implementation alone (-DWS_IMPLEMENTATION -x c ws.h) once per build and
# configuration into $BUILD/size/, and prints text + data of each object file (`size`;
# bss is 0 in every one: ws.h has no mutable state) in KB of 1000 bytes, as a Markdown table:
# one row per build (x86-64 gcc -O2 and -Os; Cortex-M4 -Os with the flags of the peers'
# figures, WS_FREESTANDING; the firmware configuration, WS_NO_ERROR_STRINGS and WS_NO_PROXY
# added; each of
# these with WS_DEFLATE), one column per role (both, WS_NO_CLIENT, WS_NO_SERVER). A build
# whose compiler is missing prints "no COMPILER" in its row. Then each object's bss, which
# must be 0 (the exit status says so). Between them, the Cortex-M4 firmware configuration's
# bytes by part of ws.h (tests/firmware/parts.py).
#   BUILD=dir   where the objects go (default build)
#   CC=gcc  FW_CC=arm-none-eabi-gcc
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
CC=${CC:-gcc}
FW_CC=${FW_CC:-arm-none-eabi-gcc}
DIR=$BUILD/size
mkdir -p "$DIR"
M4="-mcpu=cortex-m4 -mthumb -ffunction-sections -fdata-sections -ffreestanding -DWS_FREESTANDING"

# label | compiler | size tool | flags
BUILDS=(
    "x86-64, $($CC -dumpversion 2>/dev/null | sed 's/^/gcc /') \`-O2\` (SSE2 and run-time SSSE3 and AVX2 fast paths)|$CC|size|-O2"
    "x86-64, $($CC -dumpversion 2>/dev/null | sed 's/^/gcc /') \`-Os\`|$CC|size|-Os"
    "Cortex-M4, $($FW_CC -dumpversion 2>/dev/null | sed 's/^/arm-none-eabi-gcc /') \`-Os -mthumb -ffunction-sections\`, \`WS_FREESTANDING\`|$FW_CC|arm-none-eabi-size|-Os $M4"
    "the same, firmware configuration (\`WS_NO_ERROR_STRINGS WS_NO_PROXY\` added)|$FW_CC|arm-none-eabi-size|-Os $M4 -DWS_NO_ERROR_STRINGS -DWS_NO_PROXY"
    "x86-64 \`-Os\` with the DEFLATE codec and negotiation (\`WS_DEFLATE\`)|$CC|size|-Os -DWS_DEFLATE"
    "Cortex-M4 \`-Os\`, \`WS_FREESTANDING\`, with \`WS_DEFLATE\`|$FW_CC|arm-none-eabi-size|-Os $M4 -DWS_DEFLATE"
    "x86-64 \`-O2\` with the TLS layer (\`WS_MBEDTLS\`; mbedTLS itself not counted)|$CC|size|-O2 -DWS_MBEDTLS"
)
ROLES=("|server + client" "-DWS_NO_CLIENT|server only (\`WS_NO_CLIENT\`)" "-DWS_NO_SERVER|client only (\`WS_NO_SERVER\`)")

head="| Build |"; rule="| --- |"
for r in "${ROLES[@]}"; do head="$head ${r#*|} |"; rule="$rule --- |"; done
echo "$head"
echo "$rule"
bad=0
bss_lines=()
i=0
for b in "${BUILDS[@]}"; do
    IFS='|' read -r label cc sz flags <<<"$b"
    i=$((i + 1))
    row="| $label |"
    if ! command -v "$cc" >/dev/null 2>&1; then
        echo "$row no $cc |"
        continue
    fi
    j=0
    for r in "${ROLES[@]}"; do
        j=$((j + 1))
        obj=$DIR/ws_${i}_${j}.o
        # shellcheck disable=SC2086
        if "$cc" -std=c99 $flags ${r%%|*} -DWS_IMPLEMENTATION -x c -c ws.h -o "$obj" 2>"$obj.err"; then
            read -r text data bss <<<"$("$sz" "$obj" | awk 'NR == 2 { print $1, $2, $3 }')"
            row="$row $(awk -v n=$((text + data)) 'BEGIN { printf "%.1f KB", n / 1000 }') |"
            bss_lines+=("$obj: text $text, data $data, bss $bss")
            [ "$bss" -eq 0 ] || bad=1
        else
            row="$row build failed |"
            bad=1
            sed 's/^/    /' "$obj.err" | head -n 5 >&2
        fi
    done
    echo "$row"
done
# where the bytes of the Cortex-M4 firmware configuration (both roles) go
parts=$DIR/ws_4_1.o
if [ -e "$parts" ] && command -v arm-none-eabi-nm >/dev/null 2>&1; then
    echo
    echo "Cortex-M4 \`-Os\`, firmware configuration, server + client, by part (what leaving it out would save):"
    echo
    arm-none-eabi-nm -S "$parts" |
        python3 tests/firmware/parts.py "$(arm-none-eabi-size "$parts" | awk 'NR == 2 { print $1 + $2 }')"
fi
echo
echo "text + data of each object (size), KB = 1000 bytes; bss of every one must be 0:"
for l in "${bss_lines[@]}"; do echo "    $l"; done
exit $bad
