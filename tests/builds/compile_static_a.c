/* compile_static_a.c - with compile_static_b.c: two translation units that each compile a
   private (WS_STATIC) copy of ws.h link together without clashes, and without warnings
   about the functions a unit does not use. Runs as a smoke test:
       cc -std=c99 -Wall -Wextra -Wpedantic -Werror -I. tests/builds/compile_static_a.c \
          tests/builds/compile_static_b.c -o build/static_link && build/static_link */
#define WS_STATIC
#define WS_IMPLEMENTATION
#include "../../ws.h"

#include <stdio.h>
#include <string.h>

int static_b_accept_ok(void);       /* compile_static_b.c */

int main(void) {
    uint8_t digest[20];
    char b64[29];
    int failures = 0;
    ws_sha1("abc", 3, digest);
    ws_base64_encode(digest, sizeof digest, b64);
    if (strcmp(b64, "qZk+NkcGgWq6PiVxeFDCbJzQ2J0=") != 0) {
        printf("compile_static: FAIL ws_sha1/ws_base64_encode\n");
        failures++;
    }
    if (!static_b_accept_ok()) {
        printf("compile_static: FAIL ws_accept_key in the other translation unit\n");
        failures++;
    }
    printf("compile_static: %s\n", failures ? "failed" : "ok");
    return failures ? 1 : 0;
}
