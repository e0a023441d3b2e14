/* compile_static_b.c - the second WS_STATIC translation unit (see compile_static_a.c). */
#define WS_STATIC
#define WS_IMPLEMENTATION
#include "../../ws.h"

#include <string.h>

int static_b_accept_ok(void);

int static_b_accept_ok(void) {
    char out[29];
    ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", 24, out);
    return strcmp(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") == 0 && ws_close_code_valid(1000) &&
           ws_utf8_valid("ok", 2);
}
