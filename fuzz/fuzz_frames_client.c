/* fuzz_frames_client.c - frames from a server to a client connection (see frames.h). */
#include "frames.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fz_frames(data, size, WS_ROLE_CLIENT);
    return 0;
}
