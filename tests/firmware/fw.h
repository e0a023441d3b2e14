/* fw.h - what the pieces of the Cortex-M4 test image share (startup.c, heap.c).

   The image is the unit suite (tests/unit/, ws.h with WS_FREESTANDING) linked with
   newlib and librdimon (semihosting: stdio, files, time) and the files of this folder. Full
   newlib, not newlib-nano: the harness prints 64-bit values with %llu, which nano's printf
   lacks (22 tests failed on their messages, not on ws.h).
       mps2.ld     memory map of qemu's mps2-an386; ws.h's code in one range
       startup.c   vector table, reset (faults on, stack painted), argv from semihosting,
                   fault handler, the figures printed after main()
       heap.c      malloc/free/realloc/calloc that trap when called from ws.h's code, and
                   the heap (_sbrk) in the board's PSRAM
       multiword.py  lists the LDRD/STRD/LDM/STM of ws.h's M4 code with their source lines
   firmware.mk builds it, tests/run_firmware.sh runs it under qemu-system-arm. */
#ifndef FW_H_INCLUDED
#define FW_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

/* from mps2.ld */
extern char fw_ws_text_start[], fw_ws_text_end[];

/* True when the code address a (Thumb bit ignored) is in ws.h's code. */
int fw_in_ws(uintptr_t a);

/* Output without stdio or heap (semihosting SYS_WRITE0), safe in a fault handler. */
void fw_puts(const char *s);
void fw_put_hex(uint32_t v);        /* 0x%08x */
void fw_put_dec(uint32_t v);

/* Ends qemu with this exit status (semihosting SYS_EXIT_EXTENDED), stdio not flushed. */
void fw_exit(int status) __attribute__((noreturn));

/* heap.c's counts, printed after the run */
extern unsigned long fw_heap_calls;     /* malloc, calloc and realloc calls */
extern size_t fw_heap_peak;             /* highest break of the heap, bytes from its start */

#endif /* FW_H_INCLUDED */
