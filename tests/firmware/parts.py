#!/usr/bin/env python3
"""parts.py - ws.h's code in an object file, by part: what leaving each part out would save.

    arm-none-eabi-nm -S ws.o | tests/firmware/parts.py TOTAL

Reads `nm -S` (symbol, size, type) and sums the functions and tables of each part of ws.h by
their names; string constants have no symbol and are what is left of TOTAL (text + data of
the object, from `size`). Prints a Markdown table, the parts largest first.
"""
import re
import sys

PARTS = [
    ("SHA-1 (the accept key)", r"ws__sha1|ws_sha1$|ws_accept_key$|ws__guid$"),
    ("base64", r"ws__b64|ws_base64_|ws_handshake_key$"),
    ("UTF-8 validation", r"ws__utf8|ws_utf8_"),
    ("server handshake (101, 400/426/431 answers)",
     r"ws_handshake_accept|ws__accept|ws_conn_accept|ws_handshake_reject|ws__reject|ws_conn_reject|"
     r"ws_http_status$|ws_handshake_select_protocol$|ws_http_check_request$|ws__http_request_verdict$|ws__101$"),
    ("client handshake (request, response check; proxy CONNECT unless WS_NO_PROXY)",
     r"ws_handshake_request$|ws__request_pieces|ws_handshake_check$|ws_conn_connect|ws__connect_|"
     r"ws_proxy_|ws_http_parse_response$|ws__check$|ws__request_names$"),
    ("HTTP head parser, header lookup, token lists",
     r"ws_http_|ws__http|ws__head|ws__is_tchar$|ws__eq$|ws__clean|ws__named$|ws__has_token$|"
     r"ws__list_has$|ws_token_next$|ws__ext_name$"),
    ("error texts and codes (ws_strerror's texts, or names with WS_NO_ERROR_STRINGS)", r"ws_strerror$|ws__err|ws_close_code_for$"),
]


def main():
    total = int(sys.argv[1])
    sums = {name: 0 for name, _ in PARTS}
    rest = 0
    for line in sys.stdin:
        f = line.split()
        if len(f) != 4 or f[2].lower() not in "tdr":
            continue
        name, size = f[3], int(f[1], 16)
        for part, pat in PARTS:
            if re.match(pat, name):
                sums[part] += size
                break
        else:
            rest += size
    strings = total - sum(sums.values()) - rest
    rows = sorted(sums.items(), key=lambda kv: -kv[1])
    rows.append(("frames both ways, connection, close, keepalive, the rest", rest))
    rows.append(("string constants (header names, the 101/400 texts)", strings))
    print("| Part | Bytes |")
    print("| --- | --- |")
    for name, n in rows:
        print(f"| {name} | {n:,} |")
    print(f"| all | {total:,} |")


if __name__ == "__main__":
    main()
