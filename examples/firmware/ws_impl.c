/* ws_impl.c - ws.h's code for the firmware, in a translation unit of its own, so that the
   image's map file tells ws.h's bytes from the rest (tests/run_firmware.sh splits them). */
#define WS_IMPLEMENTATION
#include "../../ws.h"
