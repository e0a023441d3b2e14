/* fuzz_frames_server.c - frames from a client to a server connection (see frames.h). */
#include "frames.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fz_frames(data, size, WS_ROLE_SERVER);
    return 0;
}
