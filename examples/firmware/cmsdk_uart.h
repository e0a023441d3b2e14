/* cmsdk_uart.h - a polled driver for the ARM CMSDK APB UART (Cortex-M System Design Kit,
   ARM DDI 0479), UART0 of the mps2-an386 board at 0x40004000, which qemu implements
   (hw/char/cmsdk-apb-uart.c).

   Registers (32-bit, offsets from the base):
       0x000 DATA       bits 7:0: write to send a byte, read to take the received one
       0x004 STATE      bit 0 TX buffer full, bit 1 RX buffer full, bit 2 TX overrun,
                        bit 3 RX overrun (2 and 3: write 1 to clear)
       0x008 CTRL       bit 0 TX enable, bit 1 RX enable, bit 2 TX interrupt, bit 3 RX
                        interrupt, bit 4 TX overrun interrupt, bit 5 RX overrun interrupt
       0x00C INTSTATUS  the same four interrupts (read), write 1 to clear
       0x010 BAUDDIV    PCLK / baud rate, at least 16
   The UART has one byte of buffer each way and no FIFO. The RX interrupt (IRQ 0 on this
   board, TX is IRQ 1) is used only to wake the core from WFI; every byte is taken by
   polling. On the emulator the line has no baud rate of its own: a byte moves when qemu's
   main loop moves it (examples/firmware/README.md has the bytes/s measured). */
#ifndef CMSDK_UART_H
#define CMSDK_UART_H

#include <stdint.h>

#define CMSDK_UART0_BASE 0x40004000u
#define CMSDK_UART0_RX_IRQ 0u
#define CMSDK_PCLK_HZ 25000000u         /* the board's peripheral clock */

typedef struct cmsdk_uart {
    volatile uint32_t data, state, ctrl, intstatus, bauddiv;
} cmsdk_uart;

#define CMSDK_UART_TXFULL   (1u << 0)
#define CMSDK_UART_RXFULL   (1u << 1)
#define CMSDK_UART_RXOVR    (1u << 3)
#define CMSDK_UART_TX_EN    (1u << 0)
#define CMSDK_UART_RX_EN    (1u << 1)
#define CMSDK_UART_RX_INTEN (1u << 3)
#define CMSDK_UART_INT_RX   (1u << 1)

#define CMSDK_UART0 ((cmsdk_uart *)(uintptr_t)CMSDK_UART0_BASE)

static inline void cmsdk_uart_init(cmsdk_uart *u, uint32_t baud) {
    u->bauddiv = CMSDK_PCLK_HZ / baud;
    u->ctrl = CMSDK_UART_TX_EN | CMSDK_UART_RX_EN | CMSDK_UART_RX_INTEN;
}

/* The received byte (0..255), or -1 when none is waiting. */
static inline int cmsdk_uart_getc(cmsdk_uart *u) {
    if (!(u->state & CMSDK_UART_RXFULL)) return -1;
    return (int)(u->data & 0xFFu);
}

/* Waits for room in the one-byte TX buffer, then sends b. */
static inline void cmsdk_uart_putc(cmsdk_uart *u, uint8_t b) {
    while (u->state & CMSDK_UART_TXFULL) {}
    u->data = b;
}

static inline int cmsdk_uart_rx_ready(const cmsdk_uart *u) {
    return (u->state & CMSDK_UART_RXFULL) != 0;
}

/* From the RX interrupt handler: clears the interrupt (the byte stays for the poller). */
static inline void cmsdk_uart_irq_ack(cmsdk_uart *u) {
    u->intstatus = CMSDK_UART_INT_RX;
}

#endif /* CMSDK_UART_H */
