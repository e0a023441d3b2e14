/* roles.c - a build with one role (-DWS_NO_CLIENT or -DWS_NO_SERVER) refuses the other in
   ws_conn_init (the other role's send paths are compiled out), and takes its own. Built and
   run by tests/run_firmware.sh with each macro; prints one line, exits 0 when both hold. */
#define WS_IMPLEMENTATION
#include "../../ws.h"

#include <stdio.h>

static int on_send(ws_conn *c, const ws_buf *b, size_t n) { (void)c; (void)b; (void)n; return 0; }
static int on_random(ws_conn *c, void *out, size_t n) {
    (void)c;
    while (n--) ((unsigned char *)out)[n] = (unsigned char)n;
    return 0;
}

int main(void) {
    ws_config cfg = {0};
    ws_conn c;
#ifdef WS_NO_CLIENT
    const ws_role kept = WS_ROLE_SERVER, gone = WS_ROLE_CLIENT;
    const char *build = "WS_NO_CLIENT";
#else
    const ws_role kept = WS_ROLE_CLIENT, gone = WS_ROLE_SERVER;
    const char *build = "WS_NO_SERVER";
#endif
    int r_gone, r_kept;
    cfg.send = on_send;
    cfg.random = on_random;
    cfg.role = gone;
    r_gone = ws_conn_init(&c, &cfg, NULL);
    cfg.role = kept;
    r_kept = ws_conn_init(&c, &cfg, NULL);
    printf("%s: ws_conn_init with the role left out: %d (WS_ERR_ARG is %d), with the role kept: %d\n",
           build, r_gone, WS_ERR_ARG, r_kept);
    return r_gone == WS_ERR_ARG && r_kept == WS_OK ? 0 : 1;
}
