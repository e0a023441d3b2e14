/* startup.c - reset, vector table and fault handler of the Cortex-M4 test image (fw.h).

   At reset, before main():
     - UsageFault, BusFault and MemManage get their own exceptions (SHCSR), so a fault says
       what it was instead of escalating to a bare HardFault;
     - CCR.DIV_0_TRP is set. CCR.UNALIGN_TRP is left clear, as firmware has it: then the
       core faults on exactly what a Cortex-M4 never does unaligned, LDRD, STRD, LDM and
       STM (and LDREX/STREX), and lets LDR/STR/LDRH/STRH be unaligned. With UNALIGN_TRP set
       (-DFW_UNALIGN_TRP) every unaligned halfword or word access would fault, but then
       newlib faults before the first test: its memcpy reads unaligned words on purpose,
       and newlib-nano's printf stores an unaligned halfword to its frame, both legal on
       an M4. `-append "--fw-probe=ldrd"` (ldr, ldrd, strd, ldm, stm) runs that one
       access on an odd address instead of main(): tests/run_firmware.sh checks this qemu
       faults the four and allows the LDR, so a clean run of the suite means something;
       "--fw-probe=heap" calls malloc from a function in ws.h's range: heap.c must trap it;
     - .data is copied from flash and .bss zeroed;
     - the stack (mps2.ld: 256 KiB at the top of RAM) is painted with a pattern, read back
       after main() returns: the high-water mark of the whole run;
     - librdimon opens stdin/stdout/stderr over semihosting, and argv comes from
       semihosting's command line (qemu's -append): `-append "frame --list"` works as on
       the host, and words NAME=VALUE before the arguments set the environment
       (`-append "TEST_SEED=1234 frame"`): semihosting passes none.
   After main() the image prints its figures (lines starting "m4: ") and exits with main's
   status through semihosting. A fault prints the faulting PC, whether it is in ws.h's code,
   and the fault status registers, and exits with status 70. */
#include "fw.h"
#include "../../ws.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv);
void initialise_monitor_handles(void);     /* librdimon */
int setenv(const char *name, const char *value, int overwrite);   /* hidden by -std=c99 */
void fw_reset(void);

extern uint32_t fw_data_start[], fw_data_end[], fw_data_load[];
extern uint32_t fw_bss_start[], fw_bss_end[];
extern uint32_t fw_stack_bottom[], fw_stack_top[];

#define FW_REG(addr) (*(volatile uint32_t *)(uintptr_t)(addr))
#define FW_CCR   FW_REG(0xE000ED14u)     /* configuration and control */
#define FW_SHCSR FW_REG(0xE000ED24u)     /* system handler control and state */
#define FW_CFSR  FW_REG(0xE000ED28u)     /* configurable fault status */
#define FW_HFSR  FW_REG(0xE000ED2Cu)     /* hard fault status */
#define FW_MMFAR FW_REG(0xE000ED34u)
#define FW_BFAR  FW_REG(0xE000ED38u)

#define FW_PAINT 0x5AC3A55Cu             /* not one byte repeated: no memset-able pattern */

/* ---- semihosting ---------------------------------------------------------------- */

static int fw_semihost(int op, void *arg) {
    register int r0 __asm__("r0") = op;
    register void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

void fw_puts(const char *s) {
    fw_semihost(0x04, (void *)(uintptr_t)s);     /* SYS_WRITE0 */
}

void fw_put_hex(uint32_t v) {
    char b[11];
    int i;
    b[0] = '0';
    b[1] = 'x';
    for (i = 0; i < 8; i++)
        b[2 + i] = "0123456789abcdef"[(v >> (28 - 4 * i)) & 15];
    b[10] = 0;
    fw_puts(b);
}

void fw_put_dec(uint32_t v) {
    char b[11], *p = b + sizeof b - 1;
    *p = 0;
    do *--p = (char)('0' + v % 10); while (v /= 10);
    fw_puts(p);
}

void fw_exit(int status) {
    uint32_t block[2];
    block[0] = 0x20026u;                /* ADP_Stopped_ApplicationExit */
    block[1] = (uint32_t)status;
    for (;;)
        fw_semihost(0x20, block);       /* SYS_EXIT_EXTENDED: qemu exits with status */
}

/* librdimon's exit path ends here (exit() flushes stdio first) */
void _exit(int status) {
    fw_exit(status);
}

int fw_in_ws(uintptr_t a) {
    a &= ~(uintptr_t)1;
    return a >= (uintptr_t)fw_ws_text_start && a < (uintptr_t)fw_ws_text_end;
}

/* ---- faults ---------------------------------------------------------------------- */

/* frame: r0 r1 r2 r3 r12 lr pc xpsr, as the core stacked them */
void fw_fault_report(const uint32_t *frame, uint32_t exc_return);
void fw_fault_report(const uint32_t *frame, uint32_t exc_return) {
    static const char *const names[] = {"thread", "reset", "NMI", "HardFault", "MemManage",
                                        "BusFault", "UsageFault"};
    uint32_t ipsr, cfsr = FW_CFSR;
    __asm__ volatile("mrs %0, ipsr" : "=r"(ipsr));
    (void)exc_return;
    fw_puts("\nFAIL m4 fault: ");
    fw_puts(ipsr < sizeof names / sizeof names[0] ? names[ipsr] : "exception");
    fw_puts(" at pc ");
    fw_put_hex(frame[6]);
    fw_puts(fw_in_ws(frame[6]) ? " (in ws.h's code)" : " (not in ws.h's code)");
    fw_puts(", lr ");
    fw_put_hex(frame[5]);
    fw_puts(fw_in_ws(frame[5]) ? " (in ws.h's code)" : "");
    fw_puts("\n    CFSR ");
    fw_put_hex(cfsr);
    if (cfsr & (1u << 24)) fw_puts(" UNALIGNED");
    if (cfsr & (1u << 25)) fw_puts(" DIVBYZERO");
    if (cfsr & (1u << 16)) fw_puts(" UNDEFINSTR");
    if (cfsr & (1u << 17)) fw_puts(" INVSTATE");
    if (cfsr & (1u << 15)) { fw_puts(" BFAR "); fw_put_hex(FW_BFAR); }
    if (cfsr & (1u << 7)) { fw_puts(" MMFAR "); fw_put_hex(FW_MMFAR); }
    fw_puts(" HFSR ");
    fw_put_hex(FW_HFSR);
    fw_puts("\n    r0 ");
    fw_put_hex(frame[0]);
    fw_puts(" r1 ");
    fw_put_hex(frame[1]);
    fw_puts(" r2 ");
    fw_put_hex(frame[2]);
    fw_puts(" r3 ");
    fw_put_hex(frame[3]);
    fw_puts("  (addr2line -e the .elf -f PC names the function)\n");
    fw_exit(70);
}

__attribute__((naked)) static void fw_fault(void) {
    __asm__ volatile("tst lr, #4\n\t"
                     "ite eq\n\t"
                     "mrseq r0, msp\n\t"
                     "mrsne r0, psp\n\t"
                     "mov r1, lr\n\t"
                     "b fw_fault_report\n\t");
}

/* The first 16 words of flash: initial stack pointer, reset, then the system exceptions
   (the image enables no interrupt, so the external ones are left out). */
__attribute__((section(".vectors"), used)) static const uintptr_t fw_vectors[16] = {
    (uintptr_t)fw_stack_top,
    (uintptr_t)fw_reset,
    (uintptr_t)fw_fault,            /* NMI */
    (uintptr_t)fw_fault,            /* HardFault */
    (uintptr_t)fw_fault,            /* MemManage */
    (uintptr_t)fw_fault,            /* BusFault */
    (uintptr_t)fw_fault,            /* UsageFault */
    0, 0, 0, 0,
    (uintptr_t)fw_fault,            /* SVCall */
    (uintptr_t)fw_fault,            /* DebugMonitor */
    0,
    (uintptr_t)fw_fault,            /* PendSV */
    (uintptr_t)fw_fault,            /* SysTick */
};

/* ---- reset ----------------------------------------------------------------------- */

/* argv from semihosting's command line ("IMAGE ARGS...", split at spaces) */
static char fw_cmdline[1024];
static char *fw_argv[66];

static int fw_args(void) {
    struct { char *buf; int len; } block;
    int argc = 0;
    char *p = fw_cmdline;
    block.buf = fw_cmdline;
    block.len = (int)sizeof fw_cmdline - 1;
    if (fw_semihost(0x15, &block) != 0)         /* SYS_GET_CMDLINE */
        fw_cmdline[0] = 0;
    fw_cmdline[sizeof fw_cmdline - 1] = 0;
    while (*p && argc < (int)(sizeof fw_argv / sizeof fw_argv[0]) - 1) {
        char *word, *eq;
        while (*p == ' ') *p++ = 0;
        if (!*p) break;
        word = p;
        while (*p && *p != ' ') p++;
        if (*p) *p++ = 0;
        eq = strchr(word, '=');
        if (argc == 1 && eq && word[0] != '-') {    /* NAME=VALUE after the image's name */
            *eq = 0;
            setenv(word, eq + 1, 1);
            continue;
        }
        fw_argv[argc++] = word;
    }
    if (argc == 0) fw_argv[argc++] = (char *)"test_ws_m4";
    fw_argv[argc] = NULL;
    return argc;
}

static void fw_report(void) {
    const uint32_t *w = fw_stack_bottom;
    size_t painted = (size_t)((char *)fw_stack_top - (char *)fw_stack_bottom), used;
    while (w < fw_stack_top && *w == FW_PAINT) w++;
    used = (size_t)((char *)fw_stack_top - (char *)w);
    printf("m4: stack high-water %lu bytes of %lu painted (the whole run: runner, harness, "
           "newlib's stdio and ws.h)%s\n", (unsigned long)used, (unsigned long)painted,
           used >= painted ? " OVERFLOWED" : "");
    printf("m4: sizeof(ws_conn) %lu, sizeof(ws_http) %lu, sizeof(ws_config) %lu\n",
           (unsigned long)sizeof(ws_conn), (unsigned long)sizeof(ws_http),
           (unsigned long)sizeof(ws_config));
    printf("m4: ws.h's code %lu bytes at 0x%08lx..0x%08lx; heap: %lu calls from the tests, "
           "none from ws.h's code, %lu KiB at most\n",
           (unsigned long)(fw_ws_text_end - fw_ws_text_start),
           (unsigned long)(uintptr_t)fw_ws_text_start, (unsigned long)(uintptr_t)fw_ws_text_end,
           fw_heap_calls, (unsigned long)(fw_heap_peak / 1024));
    printf("m4: CCR 0x%08lx (UNALIGN_TRP %s, DIV_0_TRP %s)\n", (unsigned long)FW_CCR,
           FW_CCR & (1u << 3) ? "on" : "off", FW_CCR & (1u << 4) ? "on" : "off");
}

/* A stand-in for ws.h's code calling the heap: mps2.ld puts it in ws.h's range. Not a
   tail call (the trap reads the return address), and kept out of line. */
static void *volatile fw_sink;
__attribute__((noinline, used, section(".text.ws__fw_probe_heap")))
static void ws__fw_probe_heap(void) {
    fw_sink = malloc(16);
    fw_sink = (char *)fw_sink + 1;          /* work after the call: no tail call */
}

/* One access of the kind named on an odd address: the fault handler ends the run (status
   70, "UNALIGNED") if the core traps it, else this says so and exits 0. */
static void fw_probe(const char *what) {
    static uint32_t words[4];
    uint8_t *odd = (uint8_t *)words + 1;
    /* fixed registers (ascending lists); the address comes in another one */
    if (strcmp(what, "ldr") == 0)
        __asm__ volatile("ldr r0, [%0]" : : "r"(odd) : "r0", "r1", "memory");
    else if (strcmp(what, "ldrd") == 0)
        __asm__ volatile("ldrd r0, r1, [%0]" : : "r"(odd) : "r0", "r1", "memory");
    else if (strcmp(what, "strd") == 0)
        __asm__ volatile("strd r0, r1, [%0]" : : "r"(odd) : "r0", "r1", "memory");
    else if (strcmp(what, "ldm") == 0)
        __asm__ volatile("ldm %0, {r0, r1}" : : "r"(odd) : "r0", "r1", "memory");
    else if (strcmp(what, "stm") == 0)
        __asm__ volatile("stm %0, {r0, r1}" : : "r"(odd) : "r0", "r1", "memory");
    else if (strcmp(what, "heap") == 0)
        ws__fw_probe_heap();
    else {
        printf("m4: unknown probe '%s' (ldr, ldrd, strd, ldm, stm, heap)\n", what);
        exit(2);
    }
    printf("m4: probe %s: no fault, no trap\n", what);
    exit(0);
}

/* Runs on the initial stack; everything it calls is below it, so the paint reaches up to
   just under this frame. */
__attribute__((noreturn)) void fw_reset(void) {
    uint32_t *d, *s, *sp;
    int argc, rc;
    FW_SHCSR |= (1u << 16) | (1u << 17) | (1u << 18);   /* MemManage, BusFault, UsageFault */
#ifdef FW_UNALIGN_TRP
    FW_CCR |= 1u << 3;                                  /* UNALIGN_TRP */
#endif
    FW_CCR |= 1u << 4;                                  /* DIV_0_TRP */
    __asm__ volatile("dsb\n\tisb" ::: "memory");
    for (d = fw_data_start, s = fw_data_load; d < fw_data_end;) *d++ = *s++;
    for (d = fw_bss_start; d < fw_bss_end;) *d++ = 0;
    __asm__ volatile("mov %0, sp" : "=r"(sp));
    for (d = fw_stack_bottom; d < sp - 16;) *(volatile uint32_t *)d++ = FW_PAINT;
    initialise_monitor_handles();
    argc = fw_args();
    if (argc > 1 && strncmp(fw_argv[1], "--fw-probe=", 11) == 0)
        fw_probe(fw_argv[1] + 11);
    rc = main(argc, fw_argv);
    fflush(stdout);
    fw_report();
    exit(rc);
}
