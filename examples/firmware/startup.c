/* startup.c - reset, vector table, clock, sleep and stack paint of the firmware example
   (board.h). No C library: the copy of .data, the zeroing of .bss, and memcpy, memset and
   memmove (which the compiler may call for struct copies, and ws.h's WS_FREESTANDING build
   does) are here.

   Every interrupt stays masked (PRIMASK set at reset, never cleared): the core runs no
   handler at all, so nothing lands on the stack but the main loop's calls, and the
   painted high-water mark is theirs. The UART's RX interrupt and SysTick (every 10 ms)
   only end WFI: an interrupt pending wakes the core even while masked, and board_wait
   clears both before it looks at the UART again. */
#include "board.h"
#include "cmsdk_uart.h"

#ifndef FW_WAKE_MS
#define FW_WAKE_MS 10u
#endif

int main(void);
void fw_reset(void);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);

extern uint32_t fw_data_start[], fw_data_end[], fw_data_load[], fw_bss_start[], fw_bss_end[];

void *memcpy(void *dst, const void *src, size_t n) {
    uint8_t *d = (uint8_t *)dst;
    const uint8_t *s = (const uint8_t *)src;
    while (n--) *d++ = *s++;
    return dst;
}

void *memmove(void *dst, const void *src, size_t n) {
    uint8_t *d = (uint8_t *)dst;
    const uint8_t *s = (const uint8_t *)src;
    if (d < s) while (n--) *d++ = *s++;
    else while (n--) d[n] = s[n];
    return dst;
}

void *memset(void *dst, int c, size_t n) {
    uint8_t *d = (uint8_t *)dst;
    while (n--) *d++ = (uint8_t)c;
    return dst;
}

int memcmp(const void *a, const void *b, size_t n) {
    const uint8_t *x = (const uint8_t *)a, *y = (const uint8_t *)b;
    for (; n; n--, x++, y++)
        if (*x != *y) return *x < *y ? -1 : 1;
    return 0;
}

/* ---- clock and sleep ---------------------------------------------------------------- */

static uint32_t clock_last;
static uint64_t clock_ticks;

uint64_t board_ms(void) {
    uint32_t v = TIMER0_VALUE;
    clock_ticks += (uint32_t)(clock_last - v);      /* a down-counter */
    clock_last = v;
    return clock_ticks / BOARD_TICKS_PER_MS;
}

void board_wait(void) {
    cmsdk_uart_irq_ack(CMSDK_UART0);
    NVIC_ICPR0 = 1u << CMSDK_UART0_RX_IRQ;
    SCB_ICSR = 1u << 25;                            /* PENDSTCLR */
    if (cmsdk_uart_rx_ready(CMSDK_UART0)) return;   /* came in before the clear */
#ifndef FW_NO_WFI
    __asm__ volatile("dsb\n\twfi" ::: "memory");
#endif
}

/* ---- faults ------------------------------------------------------------------------------ */

void fw_fault_entry(const uint32_t *frame);
void fw_fault_entry(const uint32_t *frame) {
    fw_fault_report(frame[6], frame[5], SCB_CFSR);
    for (;;) __asm__ volatile("wfi");
}

__attribute__((naked)) static void fw_fault(void) {
    __asm__ volatile("tst lr, #4\n\t"
                     "ite eq\n\t"
                     "mrseq r0, msp\n\t"
                     "mrsne r0, psp\n\t"
                     "b fw_fault_entry\n\t");
}

/* ---- vectors and reset -------------------------------------------------------------------- */

__attribute__((section(".vectors"), used)) static const uintptr_t fw_vectors[16] = {
    (uintptr_t)fw_stack_top, (uintptr_t)fw_reset,
    (uintptr_t)fw_fault, (uintptr_t)fw_fault, (uintptr_t)fw_fault,     /* NMI, HardFault, MemManage */
    (uintptr_t)fw_fault, (uintptr_t)fw_fault,                          /* BusFault, UsageFault */
    0, 0, 0, 0, (uintptr_t)fw_fault, (uintptr_t)fw_fault, 0,           /* SVCall, DebugMonitor */
    (uintptr_t)fw_fault, (uintptr_t)fw_fault,                          /* PendSV, SysTick */
};

__attribute__((noreturn)) void fw_reset(void) {
    uint32_t *d, *s;
    uintptr_t sp;
    __asm__ volatile("cpsid i" ::: "memory");       /* for good: see the top */
    SCB_SHCSR |= (1u << 16) | (1u << 17) | (1u << 18);  /* MemManage, BusFault, UsageFault */
    SCB_CCR |= 1u << 4;                             /* DIV_0_TRP */
    for (d = fw_data_start, s = fw_data_load; d < fw_data_end;) *d++ = *s++;
    for (d = fw_bss_start; d < fw_bss_end;) *d++ = 0;
    sp = board_sp();
    board_stack_paint((uintptr_t)fw_stack_bottom, sp - 64);
    TIMER0_RELOAD = 0xFFFFFFFFu;
    TIMER0_VALUE = 0xFFFFFFFFu;
    TIMER0_CTRL = 1u;
    clock_last = TIMER0_VALUE;
    SYST_RVR = FW_WAKE_MS * BOARD_TICKS_PER_MS - 1u;   /* a wake-up, no handler runs */
    SYST_CVR = 0;
    SYST_CSR = 7u;                                  /* core clock, interrupt, enable */
    NVIC_ISER0 = 1u << CMSDK_UART0_RX_IRQ;
    main();
    for (;;) __asm__ volatile("wfi");
}
