/* board.h - what the firmware example uses of qemu's mps2-an386 (Cortex-M4, 25 MHz):
   the core's SysTick, NVIC and SCB, the board's CMSDK timer 0 as the clock, UART0 as the
   link (cmsdk_uart.h), and startup.c's reset code. */
#ifndef BOARD_H
#define BOARD_H

#include <stddef.h>
#include <stdint.h>

#define BOARD_REG(addr) (*(volatile uint32_t *)(uintptr_t)(addr))

/* core */
#define SYST_CSR    BOARD_REG(0xE000E010u)  /* SysTick: bit 0 enable, 1 interrupt, 2 core clock */
#define SYST_RVR    BOARD_REG(0xE000E014u)
#define SYST_CVR    BOARD_REG(0xE000E018u)
#define NVIC_ISER0  BOARD_REG(0xE000E100u)
#define NVIC_ICPR0  BOARD_REG(0xE000E280u)
#define SCB_ICSR    BOARD_REG(0xE000ED04u)  /* bit 25: PENDSTCLR */
#define SCB_CCR     BOARD_REG(0xE000ED14u)
#define SCB_SHCSR   BOARD_REG(0xE000ED24u)
#define SCB_CFSR    BOARD_REG(0xE000ED28u)

/* CMSDK APB timer 0: a 32-bit down-counter at the 25 MHz peripheral clock */
#define TIMER0_CTRL   BOARD_REG(0x40000000u)  /* bit 0 enable */
#define TIMER0_VALUE  BOARD_REG(0x40000004u)
#define TIMER0_RELOAD BOARD_REG(0x40000008u)
#define BOARD_TICKS_PER_MS 25000u

/* startup.c */
extern char fw_stack_bottom[], fw_stack_top[], fw_ws_text_start[], fw_ws_text_end[];
#define BOARD_PAINT 0x5AC3A55Cu     /* the stack's paint: not one byte repeated */

/* Milliseconds since reset, from timer 0 (call it at least every 171 s: the counter wraps). */
uint64_t board_ms(void);
/* Sleeps until the UART has a byte or SysTick's 10 ms period ends. */
void board_wait(void);
/* The stack pointer now. */
static inline uintptr_t board_sp(void) {
    uintptr_t sp;
    __asm__ volatile("mov %0, sp" : "=r"(sp));
    return sp;
}
/* The lowest stack address written since the paint, and the paint put back on
   [from, to). Inline, and calling nothing: used right below the caller's frame. */
__attribute__((always_inline)) static inline uintptr_t board_stack_low(void) {
    const volatile uint32_t *w = (const volatile uint32_t *)(uintptr_t)fw_stack_bottom;
    while ((uintptr_t)w < (uintptr_t)fw_stack_top && *w == BOARD_PAINT) w++;
    return (uintptr_t)w;
}
__attribute__((always_inline)) static inline void board_stack_paint(uintptr_t from, uintptr_t to) {
    volatile uint32_t *w = (volatile uint32_t *)(from & ~(uintptr_t)3);
    while ((uintptr_t)w < to) *w++ = BOARD_PAINT;
}
void *memcpy(void *dst, const void *src, size_t n);

/* What main() must provide: the fault handler reports through it, then stops. */
void fw_fault_report(uint32_t pc, uint32_t lr, uint32_t cfsr);

#endif /* BOARD_H */
