/* link.h - several TCP connections over one serial line: the framing between the firmware
   and the host's bridge (tests/firmware/bridge.py speaks the other end).

   A frame is SLIP-framed (RFC 1055): END (0xC0) before and after it, and inside it END and
   ESC (0xDB) sent as ESC 0xDC and ESC 0xDD. Unescaped, a frame is
       type (1 byte)  channel (1)  sequence (1)  payload (0..LINK_MTU)  CRC (2)
   The CRC is CRC-16/CCITT-FALSE (polynomial 0x1021, initial 0xFFFF, big-endian on the
   wire) over type, channel, sequence and payload. The sequence counts the frames of each
   direction, 0 to 255 and round: a frame lost or repeated shows as a gap. A frame with a
   bad CRC, a gap, an overlong or a short frame is reported (an 'E' frame from the
   firmware; the bridge fails its run), never acted on.

   Types, host to firmware:
       'O'  open: a TCP client connected, on this channel (0..LINK_CHANNELS-1)
       'D'  data: bytes the client sent
       'F'  FIN: the client's TCP ended (EOF or reset)
       'S'  statistics, please (channel 0)
       'P'  link ping: the payload comes back in a 'P' frame
   Firmware to host:
       'H'  hello, sent at boot: a line of text saying what runs and its limits
       'D'  data for the client (any length: the firmware streams it, the bridge takes it)
       'C'  closed: send what is queued, then end the client's TCP (FIN); the channel is
            free again as soon as the bridge reads this
       'S'  the statistics, one line of text "name=value ..."
       'P'  the link ping's answer
       'E'  a link error the firmware saw, as text
   Frames of a channel the firmware has closed are dropped: a channel is reopened only by
   an 'O' the bridge sends after it read the 'C', and the line keeps frames in order. */
#ifndef LINK_H
#define LINK_H

#include <stddef.h>
#include <stdint.h>

#define LINK_MTU      512u              /* payload bytes of a frame from the host, at most */
#define LINK_CHANNELS 4u
#define LINK_END      0xC0u
#define LINK_ESC      0xDBu

typedef struct link_rx {                /* the frame being received */
    uint8_t  buf[3 + LINK_MTU + 2];
    size_t   len;
    uint8_t  esc, bad, seq;
} link_rx;

typedef struct link_tx {                /* the frame being sent */
    uint16_t crc;
    uint8_t  seq;
} link_tx;

typedef struct link_counts {
    uint32_t frames_in, frames_out, bytes_in, bytes_out, crc_errors, seq_errors, size_errors;
} link_counts;

static inline uint16_t link_crc(uint16_t crc, uint8_t b) {
    int i;
    crc ^= (uint16_t)(b << 8);
    for (i = 0; i < 8; i++) crc = (uint16_t)(crc & 0x8000u ? (unsigned)crc << 1 ^ 0x1021u : (unsigned)crc << 1);
    return crc;
}

#endif /* LINK_H */
