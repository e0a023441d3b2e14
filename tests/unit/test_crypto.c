/* test_crypto.c - SHA-1 (FIPS 180 examples, padding boundaries), base64 (RFC 4648 section
   10, both ways, invalid input) and the Sec-WebSocket-Accept of RFC 6455 section 1.3.
   Digests of lengths other than the FIPS examples were computed with Python's hashlib. */
#include "harness.h"

#include <stdlib.h>
#include <string.h>

static int hexval(char ch) {
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    return -1;
}

static void unhex20(const char *hex, uint8_t out[20]) {
    int i;
    for (i = 0; i < 20; i++)
        out[i] = (uint8_t)(hexval(hex[2 * i]) << 4 | hexval(hex[2 * i + 1]));
}

static int check_sha1_at(const void *data, size_t len, const char *hex, const char *file,
                         int line) {
    uint8_t want[20], got[21];
    uint8_t *copy = dup_exact(data, len);   /* exact size: an overread is caught */
    got[20] = 0xa5;
    unhex20(hex, want);
    ws_sha1(copy, len, got);
    free(copy);
    test_check_int(got[20], 0xa5, file, line, "byte after the 20-byte digest");
    return test_check_mem(got, 20, want, 20, file, line, "ws_sha1");
}
#define CHECK_SHA1(data, len, hex) check_sha1_at((data), (len), (hex), __FILE__, __LINE__)

TEST(sha1_empty) {
    CHECK_SHA1("", 0, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
}

TEST(sha1_abc) {
    CHECK_SHA1("abc", 3, "a9993e364706816aba3e25717850c26c9cd0d89d");
}

TEST(sha1_448_bits) {
    const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    CHECK_EQ_INT(strlen(m), 56);
    CHECK_SHA1(m, 56, "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
}

TEST(sha1_896_bits) {
    const char *m = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno"
                    "ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";
    CHECK_EQ_INT(strlen(m), 112);
    CHECK_SHA1(m, 112, "a49b2446a02c645bf419f995b67091253a04a259");
}

TEST(sha1_million_a) {
    size_t n = 1000000;
    char *m = (char *)malloc(n);
    if (!CHECK(m != NULL))
        return;
    memset(m, 'a', n);
    CHECK_SHA1(m, n, "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
    free(m);
}

TEST(sha1_padding_boundaries) {
    static const struct { size_t n; const char *hex; } v[] = {
        { 55, "c1c8bbdc22796e28c0e15163d20899b65621d65a" },
        { 56, "c2db330f6083854c99d4b5bfb6e8f29f201be699" },
        { 57, "f08f24908d682555111be7ff6f004e78283d989a" },
        { 63, "03f09f5b158a7a8cdad920bddc29b81c18a551f5" },
        { 64, "0098ba824b5c16427bd7a1122a5a442a25ec644d" },
        { 65, "11655326c708d70319be2610e8a57d9a5b959d3b" },
        { 119, "ee971065aaa017e0632a8ca6c77bb3bf8b1dfc56" },
        { 120, "f34c1488385346a55709ba056ddd08280dd4c6d6" },
        { 127, "89d95fa32ed44a7c610b7ee38517ddf57e0bb975" },
        { 128, "ad5b3fdbcb526778c2839d2f151ea753995e26a0" },
    };
    char a[128];
    size_t i;
    memset(a, 'a', sizeof a);
    for (i = 0; i < sizeof v / sizeof v[0]; i++) {
        test_context("%lu times 'a'", (unsigned long)v[i].n);
        CHECK_SHA1(a, v[i].n, v[i].hex);
    }
}

TEST(sha1_all_byte_values) {
    uint8_t m[1024];
    size_t i;
    for (i = 0; i < sizeof m; i++)
        m[i] = (uint8_t)i;
    CHECK_SHA1(m, sizeof m, "5b00669c480d5cffbdfa8bdba99561160f2d1b77");
}

/* ---- base64 ---------------------------------------------------------------------- */

static const struct { const char *plain, *b64; } rfc4648[] = {
    { "", "" },          { "f", "Zg==" },         { "fo", "Zm8=" },       { "foo", "Zm9v" },
    { "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" },
};

TEST(base64_encode_rfc4648) {
    size_t i;
    for (i = 0; i < sizeof rfc4648 / sizeof rfc4648[0]; i++) {
        char out[16];
        size_t n, len = strlen(rfc4648[i].plain);
        uint8_t *in = dup_exact(rfc4648[i].plain, len);
        memset(out, 'x', sizeof out);
        test_context("base64 of \"%s\"", rfc4648[i].plain);
        n = ws_base64_encode(in, len, out);
        CHECK_EQ_INT(n, strlen(rfc4648[i].b64));
        CHECK_EQ_STR(out, rfc4648[i].b64);
        CHECK_EQ_INT(out[4 * ((len + 2) / 3) + 1], 'x');  /* documented size, no more */
        free(in);
    }
}

TEST(base64_decode_rfc4648) {
    size_t i;
    for (i = 0; i < sizeof rfc4648 / sizeof rfc4648[0]; i++) {
        uint8_t out[16];
        size_t len = strlen(rfc4648[i].b64), want = strlen(rfc4648[i].plain), n;
        char *in = (char *)dup_exact(rfc4648[i].b64, len);
        test_context("decoding \"%s\"", rfc4648[i].b64);
        n = ws_base64_decode(in, len, out, sizeof out);
        CHECK_EQ_MEM(out, n == (size_t)-1 ? 0 : n, rfc4648[i].plain, want);
        /* an output buffer of exactly the decoded size is enough */
        if (want) {
            uint8_t *exact = (uint8_t *)malloc(want);
            CHECK_EQ_INT(ws_base64_decode(in, len, exact, want), want);
            CHECK_EQ_U64(ws_base64_decode(in, len, exact, want - 1), (size_t)-1);
            free(exact);
        }
        free(in);
    }
}

TEST(base64_alphabet_and_roundtrip) {
    uint8_t all[256], back[256];
    char enc[4 * ((256 + 2) / 3) + 1];
    size_t i, n;
    static const uint8_t plus_slash[2] = { 0xfb, 0xff };
    for (i = 0; i < 256; i++)
        all[i] = (uint8_t)i;
    n = ws_base64_encode(plus_slash, 2, enc);
    CHECK_EQ_INT(n, 4);
    CHECK_EQ_STR(enc, "+/8=");
    for (i = 0; i <= 256; i++) {
        test_context("the first %lu byte values", (unsigned long)i);
        n = ws_base64_encode(all, i, enc);
        if (!CHECK_EQ_INT(n, 4 * ((i + 2) / 3)))
            break;
        CHECK_EQ_INT(ws_base64_decode(enc, n, back, sizeof back), i);
        CHECK_EQ_MEM(back, i, all, i);
    }
}

TEST(base64_invalid_rejected) {
    static const char *const bad[] = {
        "Zg",          /* unpadded */
        "Zg=",         /* length not a multiple of 4 */
        "Zg===",
        "Z===",        /* one character cannot carry a byte */
        "====",
        "Zm9v!A==",    /* not in the alphabet */
        "Zm9v-_==",    /* URL-safe alphabet */
        "Zm=v",        /* padding in the middle */
        "Zg==Zg==",    /* data after padding */
        "Zm9vYg=a",
        " Zg=",        /* whitespace */
        "Zg==\n",
        "Zm9v\r\n",
    };
    size_t i;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t out[16];
        size_t len = strlen(bad[i]);
        char *in = (char *)dup_exact(bad[i], len);
        test_context("decoding \"%s\"", bad[i]);
        CHECK_EQ_U64(ws_base64_decode(in, len, out, sizeof out), (size_t)-1);
        free(in);
    }
    {   /* a NUL inside the input is not base64 either */
        uint8_t out[8];
        test_context("decoding \"Zm\\0v\"");
        CHECK_EQ_U64(ws_base64_decode("Zm\0v", 4, out, sizeof out), (size_t)-1);
    }
}

/* ---- Sec-WebSocket-Accept (RFC 6455 1.3) ---------------------------------------------- */

TEST(accept_key_rfc6455) {
    char out[30];
    char *key = (char *)dup_exact("dGhlIHNhbXBsZSBub25jZQ==", 24);
    memset(out, 'x', sizeof out);
    ws_accept_key(key, 24, out);
    CHECK_EQ_STR(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    CHECK_EQ_INT(out[29], 'x');
    free(key);
}

TEST(accept_key_other_keys) {
    /* accepts computed with Python's hashlib for the keys of the RFC's other example and
       of the captured handshakes in tests/unit/vectors */
    static const struct { const char *key, *accept; } v[] = {
        { "x3JJHMbDL1EzLkh9GBhXDw==", "HSmrc0sMlYUkAGmm5OPpG2HaGWk=" },
        { "kVdmGx/hY8plgRcZqNxwmg==", "5VOHOsNmIYC7N0UIVwebbqfTFlU=" },
        { "9UivinIYSP7GoX1He8+WrQ==", "rNgyMItoqlnOw/80Ua2cHSlvqxA=" },
        { "QOC5KPgLxhfb34fG8IytNw==", "nddSIwlJLwe6xU7DF66YM5T5Q8o=" },
    };
    size_t i;
    for (i = 0; i < sizeof v / sizeof v[0]; i++) {
        char out[29];
        test_context("key %s", v[i].key);
        ws_accept_key(v[i].key, 24, out);
        CHECK_EQ_STR(out, v[i].accept);
    }
}

TEST(handshake_key_from_nonce) {
    char key[26];
    memset(key, 'x', sizeof key);
    ws_handshake_key((const uint8_t *)"the sample nonce", key);
    CHECK_EQ_STR(key, "dGhlIHNhbXBsZSBub25jZQ==");
    CHECK_EQ_INT(key[25], 'x');
}

void suite_crypto(void) {
    test_suite_begin("crypto");
    RUN(sha1_empty);
    RUN(sha1_abc);
    RUN(sha1_448_bits);
    RUN(sha1_896_bits);
    RUN(sha1_million_a);
    RUN(sha1_padding_boundaries);
    RUN(sha1_all_byte_values);
    RUN(base64_encode_rfc4648);
    RUN(base64_decode_rfc4648);
    RUN(base64_alphabet_and_roundtrip);
    RUN(base64_invalid_rejected);
    RUN(accept_key_rfc6455);
    RUN(accept_key_other_keys);
    RUN(handshake_key_from_nonce);
    test_suite_end();
}
