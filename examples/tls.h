/* tls.h - https and wss for the examples: certificates and keys from files, and a build
   without TLS

   Not ws.h glue: ws.h's TLS layer (ws_tls_*, compiled with WS_MBEDTLS) takes certificates,
   keys and CA lists as bytes, and reading them from files is yours; this is one way. The
   glue itself is in each program, marked "ws.h glue (TLS)": ws_tls_init when a socket is
   accepted (or connected), ws_tls_feed for every read, ws_tls_send from the send callback
   (and for any bytes written around ws_conn, such as plain HTTP answers), ws_tls_close
   before FIN, ws_tls_free.

   examples/examples.mk builds echo_server, chat_server, shared_port and wscat with
   -DWS_MBEDTLS and -lmbedtls -lmbedx509 -lmbedcrypto when mbedTLS's headers are installed
   (Debian: apt-get install libmbedtls-dev). Without them ws.h has no ws_tls at all, and the
   same programs compile against the stand-ins at the end of this file instead: TLS_BUILT
   is 0, every stand-in fails, and the programs refuse --cert, --ca and wss:// at start
   with TLS_MISSING, so that no connection ever gets one.
   Include it after ws.h, with _POSIX_C_SOURCE set. Errors are printed on stderr, one line
   each, starting with `who` (the program's name). */
#ifndef TLS_H
#define TLS_H

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TLS_MISSING "this program was built without TLS: install mbedTLS (apt-get install " \
                    "libmbedtls-dev), then make examples again"

/* The plaintext of one TLS record at most: the buffer ws_tls_init asks for. The examples
   share one between all their connections, since what it holds is used up inside the
   on_data callback (parsed, copied or fed to ws_conn_feed, which unmasks it in place). */
enum { TLS_RECORD = 16384 };

/* The whole file at path, NUL-terminated, in memory from malloc; its size in *len. NULL
   after a message naming `what` ("--cert"). */
static inline char *tls_read_file(const char *who, const char *what, const char *path,
                                  size_t *len) {
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long n = -1;
    if (!f) {
        fprintf(stderr, "%s: %s %s: %s\n", who, what, path, strerror(errno));
        return NULL;
    }
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (buf = (char *)malloc((size_t)n + 1)) != NULL &&
        fread(buf, 1, (size_t)n, f) == (size_t)n) {
        buf[n] = '\0';
        *len = (size_t)n;
    } else {
        fprintf(stderr, "%s: %s %s: cannot read it\n", who, what, path);
        free(buf);
        buf = NULL;
    }
    fclose(f);
    return buf;
}

/* The length to give ws.h and mbedTLS: PEM counts its NUL (which is how mbedTLS tells it
   from DER, even after a line of text before the first -----BEGIN), DER does not. */
static inline size_t tls_len(const char *buf, size_t len) {
    return strstr(buf, "-----BEGIN") ? len + 1 : len;
}

/* Zeroes a key's bytes before they go back to malloc. */
static inline void tls_forget(char *buf, size_t len) {
    volatile char *p = buf;
    if (!buf) return;
    while (len--) *p++ = 0;
    free(buf);
}

#ifdef WS_MBEDTLS
#define TLS_BUILT 1

/* Does each file parse, and is key the private key of cert's first certificate?
   ws_tls_server_setup refuses both with WS_ERR_ARG; this tells the two apart for the
   message. 0: one does not parse, 1: they parse but do not match, 2: a pair. */
static inline int tls_key_matches(const char *cert, size_t cert_len, const char *key,
                                  size_t key_len) {
    mbedtls_x509_crt crt;
    mbedtls_pk_context pk;
    int ok;
    mbedtls_x509_crt_init(&crt);
    mbedtls_pk_init(&pk);
#if MBEDTLS_VERSION_MAJOR >= 3
    mbedtls_entropy_context entropy;
    mbedtls_ctr_drbg_context drbg;
    mbedtls_entropy_init(&entropy);
    mbedtls_ctr_drbg_init(&drbg);
    ok = mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &entropy, NULL, 0) == 0 &&
         mbedtls_x509_crt_parse(&crt, (const unsigned char *)cert, tls_len(cert, cert_len)) == 0 &&
         mbedtls_pk_parse_key(&pk, (const unsigned char *)key, tls_len(key, key_len), NULL, 0,
                              mbedtls_ctr_drbg_random, &drbg) == 0;
    if (ok) ok = mbedtls_pk_check_pair(&crt.pk, &pk, mbedtls_ctr_drbg_random, &drbg) == 0 ? 2 : 1;
    mbedtls_ctr_drbg_free(&drbg);
    mbedtls_entropy_free(&entropy);
#else
    ok = mbedtls_x509_crt_parse(&crt, (const unsigned char *)cert, tls_len(cert, cert_len)) == 0 &&
         mbedtls_pk_parse_key(&pk, (const unsigned char *)key, tls_len(key, key_len), NULL,
                              0) == 0;
    if (ok) ok = mbedtls_pk_check_pair(&crt.pk, &pk) == 0 ? 2 : 1;
#endif
    mbedtls_pk_free(&pk);
    mbedtls_x509_crt_free(&crt);
    return ok;
}

/* A server's settings from its certificate chain and key files (PEM or DER), for the
   callbacks already in tc. Returns 0, or -1 after a message. */
static inline int tls_server_files(const char *who, ws_tls_config *tc, const char *cert_path,
                                   const char *key_path) {
    size_t cert_len = 0, key_len = 0;
    char *cert = tls_read_file(who, "--cert", cert_path, &cert_len);
    char *key = cert ? tls_read_file(who, "--key", key_path, &key_len) : NULL;
    int r = WS_ERR_ARG;
    if (cert && key)
        r = ws_tls_server_setup(tc, cert, tls_len(cert, cert_len), key, tls_len(key, key_len),
                                NULL);
    if (cert && key && r == WS_ERR_ARG && tls_key_matches(cert, cert_len, key, key_len) == 1)
        fprintf(stderr, "%s: --key %s is not the private key of --cert %s\n", who, key_path,
                cert_path);
    else if (cert && key && r == WS_ERR_ARG)
        fprintf(stderr, "%s: --cert %s --key %s: not a certificate and its private key (PEM or "
                        "DER; an encrypted key is not supported here)\n", who, cert_path, key_path);
    else if (cert && key && r != WS_OK)
        fprintf(stderr, "%s: TLS: %s\n", who, ws_strerror(r));
    free(cert);
    tls_forget(key, key_len);
    return r == WS_OK ? 0 : -1;
}

/* The CA lists a client may find on this system when it is given none. */
static const char *const tls_system_cas[] = {
    "/etc/ssl/certs/ca-certificates.crt",       /* Debian, Ubuntu, Alpine */
    "/etc/pki/tls/certs/ca-bundle.crt",         /* Fedora, RHEL */
    "/etc/ssl/cert.pem",                        /* macOS, the BSDs */
};

/* A client's settings: the CAs of ca_path (PEM or DER), else the system's list; insecure
   turns verification off (WS_TLS_INSECURE_NO_VERIFY: tests only). Returns 0, or -1 after
   a message. */
static inline int tls_client_files(const char *who, ws_tls_config *tc, const char *ca_path,
                                   bool insecure) {
    size_t len = 0, i;
    char *ca = NULL;
    int r;
    if (insecure)
        return ws_tls_client_setup(tc, NULL, 0, WS_TLS_INSECURE_NO_VERIFY) == WS_OK ? 0 : -1;
    for (i = 0; !ca_path && i < sizeof tls_system_cas / sizeof tls_system_cas[0]; i++) {
        FILE *f = fopen(tls_system_cas[i], "rb");
        if (f) ca_path = tls_system_cas[i], fclose(f);
    }
    if (!ca_path) {
        fprintf(stderr, "%s: no list of trusted CAs on this system (%s): give one with "
                        "--ca FILE\n", who, tls_system_cas[0]);
        return -1;
    }
    if (!(ca = tls_read_file(who, "--ca", ca_path, &len))) return -1;
    if ((r = ws_tls_client_setup(tc, ca, tls_len(ca, len), 0)) != WS_OK)
        fprintf(stderr, "%s: --ca %s: %s\n", who, ca_path,
                r == WS_ERR_ARG ? "not a list of CA certificates (PEM or DER)" : ws_strerror(r));
    free(ca);
    return r == WS_OK ? 0 : -1;
}

#else /* no WS_MBEDTLS: ws.h declares no ws_tls; these stand-ins are never reached */
#define TLS_BUILT 0
#define WS_TLS_INSECURE_NO_VERIFY 0x1u

typedef struct ws_tls { void *user; } ws_tls;
typedef struct ws_tls_config {
    int  (*send)(ws_tls *t, const void *data, size_t len);
    void (*on_data)(ws_tls *t, void *data, size_t len);
    void (*on_open)(ws_tls *t);
} ws_tls_config;

static inline int tls_server_files(const char *who, ws_tls_config *tc, const char *cert_path,
                                   const char *key_path) {
    (void)tc; (void)cert_path; (void)key_path;
    fprintf(stderr, "%s: --cert: %s\n", who, TLS_MISSING);
    return -1;
}
static inline int tls_client_files(const char *who, ws_tls_config *tc, const char *ca_path,
                                   bool insecure) {
    (void)tc; (void)ca_path; (void)insecure;
    fprintf(stderr, "%s: wss://: %s\n", who, TLS_MISSING);
    return -1;
}
static inline int ws_tls_init(ws_tls *t, const ws_tls_config *tc, const char *host, void *buf,
                              size_t cap, void *user) {
    (void)t; (void)tc; (void)host; (void)buf; (void)cap; (void)user;
    return WS_ERR_TLS;
}
static inline int ws_tls_feed(ws_tls *t, const void *data, size_t len) {
    (void)t; (void)data; (void)len;
    return WS_ERR_TLS;
}
static inline int ws_tls_send(ws_tls *t, const ws_buf *bufs, size_t n) {
    (void)t; (void)bufs; (void)n;
    return WS_ERR_TLS;
}
static inline int ws_tls_close(ws_tls *t) { (void)t; return WS_ERR_TLS; }
static inline void ws_tls_free(ws_tls *t) { (void)t; }
static inline bool ws_tls_ready(const ws_tls *t) { (void)t; return false; }
static inline const char *ws_tls_why(const ws_tls *t) { (void)t; return TLS_MISSING; }
static inline void ws_tls_config_free(ws_tls_config *tc) { (void)tc; }
#endif

#endif /* TLS_H */
