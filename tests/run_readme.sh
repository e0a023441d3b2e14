#!/usr/bin/env bash
# README.md's code is code: the ```c blocks (the server outline) are taken out of README.md
# as they stand, in order, and compiled as one file with gcc and clang under
# -std=c99 -Wall -Wextra -Wpedantic -Werror -Wshadow -Wstrict-prototypes (no link: the outline
# has no main). The last line is "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
. tests/lib.sh
WARN="-std=c99 -Wall -Wextra -Wpedantic -Werror -Wshadow -Wstrict-prototypes"

awk '/^```c[[:space:]]*$/ { on = 1; n++; next } /^```/ { on = 0 } on' README.md >"$tmp/outline.c"
blocks=$(grep -c '^```c[[:space:]]*$' README.md)
if [ "$blocks" -gt 0 ] && [ -s "$tmp/outline.c" ]; then
    ok "README.md has $blocks C block(s), $(wc -l <"$tmp/outline.c") lines"
else
    ko "README.md has no \`\`\`c block"; finish
fi
for cc in gcc "${CLANG:-clang}"; do
    if ! command -v "$cc" >/dev/null; then skip_check "compile with $cc: no $cc (apt-get install ${cc%%-*})"; continue; fi
    # shellcheck disable=SC2086
    if $cc $WARN -I. -c "$tmp/outline.c" -o "$tmp/outline_$cc.o" 2>"$tmp/$cc.err"; then
        ok "README.md's C compiles as shown with $cc $WARN"
    else
        ko "README.md's C does not compile with $cc (line numbers count from the first \`\`\`c block)"
        show "$tmp/$cc.err"
    fi
done
finish
