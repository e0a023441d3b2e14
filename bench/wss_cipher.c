/* wss_cipher.c - the cipher's own speed: mbedTLS AES-GCM on 16 KiB records (TLS's largest),
   encrypt and decrypt in memory, nothing else, and ChaCha20-Poly1305 (what two mbedTLS
   ends agree on: it is first in mbedTLS 2.28's list). The ceiling for wss:// bulk
   throughput (bench/wss.sh prints it beside the echo figures).

   Usage:  wss_cipher [SECONDS] [KEYBITS]   (default 1 s, 128; TLS suites use 128 or 256)
   Prints: "aes-KEYBITS-gcm encrypt_MB/s=... decrypt_MB/s=... aesni=yes|no record=16384
           chachapoly_MB/s=...", MB per second of this process's CPU time (not wall time: a
           loaded machine).
   Build:  bench/bench.mk (make bench), with -lmbedcrypto. */
#define _POSIX_C_SOURCE 200809L
#include <mbedtls/aesni.h>
#include <mbedtls/chachapoly.h>
#include <mbedtls/gcm.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { RECORD = 16384 };

/* CPU seconds of this process: the cipher's cost, whatever else the machine runs */
static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* MB/s of one direction over about `seconds`: 1 = encrypt, 0 = decrypt (with the tag
   checked, as TLS does) */
static double run(mbedtls_gcm_context *g, int encrypt, double seconds, unsigned char *in,
                  unsigned char *out, unsigned char *tag) {
    unsigned char iv[12] = { 0 };
    double t0 = now(), t;
    long n = 0;
    do {
        int i;
        for (i = 0; i < 64; i++, n++) {
            int r;
            memcpy(iv + 4, &n, sizeof n < 8 ? sizeof n : 8);
            if (encrypt)
                r = mbedtls_gcm_crypt_and_tag(g, MBEDTLS_GCM_ENCRYPT, RECORD, iv, 12,
                                              (const unsigned char *)"hdr13", 5, in, out, 16, tag);
            else
                r = mbedtls_gcm_auth_decrypt(g, RECORD, iv, 12, (const unsigned char *)"hdr13", 5,
                                             tag, 16, in, out);
            if (r == MBEDTLS_ERR_GCM_AUTH_FAILED) r = 0;
            if (r != 0) { fprintf(stderr, "wss_cipher: mbedTLS error %d\n", r); exit(1); }
        }
        t = now() - t0;
    } while (t < seconds);
    return (double)n * RECORD / t / 1e6;
}

int main(int argc, char **argv) {
    double seconds = argc > 1 ? atof(argv[1]) : 1.0;
    unsigned bits = argc > 2 ? (unsigned)atoi(argv[2]) : 128;
    static unsigned char key[32], in[RECORD], out[RECORD];
    unsigned char tag[16];
    mbedtls_gcm_context g;
    double enc, dec, chacha;
    size_t i;
    if (seconds <= 0 || (bits != 128 && bits != 256)) {
        fprintf(stderr, "usage: wss_cipher [SECONDS] [128|256]\n");
        return 2;
    }
    for (i = 0; i < sizeof in; i++) in[i] = (unsigned char)(i * 7u);
    for (i = 0; i < sizeof key; i++) key[i] = (unsigned char)(i + 1);
    mbedtls_gcm_init(&g);
    if (mbedtls_gcm_setkey(&g, MBEDTLS_CIPHER_ID_AES, key, bits) != 0) return 1;
    enc = run(&g, 1, seconds, in, out, tag);
    /* decrypting garbage under a wrong tag costs what a good record costs: the whole
       record is processed before the tag is compared */
    dec = run(&g, 0, seconds, out, in, tag);
    {   /* ChaCha20-Poly1305, encrypt (decrypt costs the same) */
        mbedtls_chachapoly_context cc;
        unsigned char iv[12] = { 0 };
        double t0 = now(), t;
        long n = 0;
        mbedtls_chachapoly_init(&cc);
        if (mbedtls_chachapoly_setkey(&cc, key) != 0) return 1;
        do {
            int k;
            for (k = 0; k < 64; k++, n++)
                if (mbedtls_chachapoly_encrypt_and_tag(&cc, RECORD, iv, (const unsigned char *)"hdr13",
                                                       5, in, out, tag) != 0) return 1;
            t = now() - t0;
        } while (t < seconds);
        chacha = (double)n * RECORD / t / 1e6;
        mbedtls_chachapoly_free(&cc);
    }
    printf("aes-%u-gcm encrypt_MB/s=%.0f decrypt_MB/s=%.0f aesni=%s record=%d chachapoly_MB/s=%.0f\n",
           bits, enc, dec,
#if defined(MBEDTLS_AESNI_C) && defined(MBEDTLS_HAVE_X86_64)
           mbedtls_aesni_has_support(MBEDTLS_AESNI_AES) ? "yes" : "no",
#else
           "no",
#endif
           RECORD, chacha);
    mbedtls_gcm_free(&g);
    return 0;
}
