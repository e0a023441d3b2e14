/* heap.c - the heap of the Cortex-M4 test image, and the trap that proves ws.h never
   reaches it.

   The tests allocate (growable logs, copies of every split of an input); ws.h must not. So
   malloc, calloc, realloc and free are defined here, in place of newlib's, and each looks
   at its return address first: a call from ws.h's code (mps2.ld gathers every ws_* and
   ws__* function in fw_ws_text_start..fw_ws_text_end) prints
       FAIL heap: malloc called from ws.h's code at 0x...
   and ends the run with status 71. Any other caller (the harness, newlib's stdio) gets
   newlib-nano's allocator (_malloc_r...). The return address is the precise test where a
   flag set "while ws.h runs" is not: the harness's callbacks run inside ws.h's calls, and
   they allocate. ws.h's code could reach the heap only directly or through a function it
   calls; firmware.mk checks that the freestanding ws.h object calls nothing outside itself
   but memcpy and memset (which do not allocate), and the callbacks it calls are the
   harness's, so a direct call is the only way, and this traps it.

   _sbrk (librdimon's is weak) hands out the board's 16 MiB PSRAM (mps2.ld), away from the
   stack, so a growing heap never smudges the stack's paint. */
#include "fw.h"

#include <errno.h>
#include <reent.h>
#include <stddef.h>
#include <stdint.h>

void *malloc(size_t n);
void *calloc(size_t n, size_t size);
void *realloc(void *p, size_t n);
void free(void *p);
void *_sbrk(ptrdiff_t incr);

/* newlib's allocator, hidden by <stdlib.h> under -std=c99 */
void *_malloc_r(struct _reent *r, size_t n);
void *_calloc_r(struct _reent *r, size_t n, size_t size);
void *_realloc_r(struct _reent *r, void *p, size_t n);
void _free_r(struct _reent *r, void *p);

extern char fw_heap_start[], fw_heap_end[];

unsigned long fw_heap_calls;
size_t fw_heap_peak;

static void fw_heap_check(const char *what, void *caller) {
    if (!fw_in_ws((uintptr_t)caller))
        return;
    fw_puts("\nFAIL heap: ");
    fw_puts(what);
    fw_puts(" called from ws.h's code at ");
    fw_put_hex((uint32_t)(uintptr_t)caller);
    fw_puts(" (addr2line -f -e the .elf names the function)\n");
    fw_exit(71);
}

void *malloc(size_t n) {
    fw_heap_check("malloc", __builtin_return_address(0));
    fw_heap_calls++;
    return _malloc_r(_REENT, n);
}

void *calloc(size_t n, size_t size) {
    fw_heap_check("calloc", __builtin_return_address(0));
    fw_heap_calls++;
    return _calloc_r(_REENT, n, size);
}

void *realloc(void *p, size_t n) {
    fw_heap_check("realloc", __builtin_return_address(0));
    fw_heap_calls++;
    return _realloc_r(_REENT, p, n);
}

void free(void *p) {
    fw_heap_check("free", __builtin_return_address(0));
    _free_r(_REENT, p);
}

void *_sbrk(ptrdiff_t incr) {
    static char *brk = fw_heap_start;
    char *old = brk;
    if (incr > fw_heap_end - brk || incr < fw_heap_start - brk) {
        errno = ENOMEM;
        return (void *)-1;
    }
    brk += incr;
    if ((size_t)(brk - fw_heap_start) > fw_heap_peak)
        fw_heap_peak = (size_t)(brk - fw_heap_start);
    return old;
}
