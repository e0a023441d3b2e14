/* test.h - the tiny test runner of ws.h's unit tests.

   A test is a function without arguments:

       TEST(frame_masked_hello) {
           CHECK_EQ_INT(ws_conn_feed(&c, buf, n), WS_OK);
       }

   and a suite is a function that runs its tests between two calls:

       void suite_frame(void) {
           test_suite_begin("frame");
           RUN(frame_masked_hello);
           test_suite_end();                    // prints "frame        48 passed"
       }

   Checks never stop a test; each returns 1 when it held and 0 when it failed, so a test can
   bail out with `if (!CHECK(p != NULL)) return;`. A failure prints the suite, the test name,
   file:line, expected versus actual (hex for bytes) and the context the test set with
   test_context() (the input, how it was split). A test that runs no check at all counts as
   failed: a test that silently checks nothing must not pass.

   The counters live in one object, test_g, defined in test_main.c; ws.h itself has no
   global state.

   Names given on the command line pick what runs (test_main.c): `build/test_ws_gcc frame`
   runs one suite, `frame/errors_are_sticky` one test, `frame/rfc_*` every test whose name
   starts so, `--list` prints the names. test_run() skips a test that was not picked, and
   test_suite_end() prints nothing for a suite with none picked, so suites need no code of
   their own for it. */
#ifndef TEST_H_INCLUDED
#define TEST_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

typedef struct test_counters {
    const char *suite;          /* current suite's name */
    const char *test;           /* current test's name */
    long checks;                /* checks run by the current test */
    long test_failures;         /* checks failed in the current test */
    int suite_passed, suite_failed;
    int passed, failed;         /* totals over all suites */
    char context[1024];         /* printed under each failure while set */
} test_counters;

extern test_counters test_g;

void test_suite_begin(const char *name);
void test_suite_end(void);
void test_run(const char *name, void (*fn)(void));

/* Sets (printf-style) or clears (NULL) the context printed with failures. */
void test_context(const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;
/* Appends to the context; the same as test_context when the context is empty. */
void test_context_add(const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;
/* Writes "xx xx xx .. (N bytes)" for the first max bytes of p into out. */
void test_hex_brief(char *out, size_t cap, const void *p, size_t n, size_t max);

/* The seed of tests that depend on chance: TEST_SEED from the environment, or the time. */
unsigned long test_seed(void);
/* A small PRNG (xorshift64*) for such tests; state must not be 0. */
uint32_t test_rand(uint64_t *state);

int test_check(int ok, const char *file, int line, const char *expr);
int test_check_int(long long actual, long long expected, const char *file, int line,
                   const char *expr);
int test_check_u64(uint64_t actual, uint64_t expected, const char *file, int line,
                   const char *expr);
int test_check_mem(const void *actual, size_t actual_len, const void *expected,
                   size_t expected_len, const char *file, int line, const char *expr);
int test_check_str(const char *actual, const char *expected, const char *file, int line,
                   const char *expr);
/* Prints a failure with a free-form message (the caller already knows it failed). */
int test_fail(const char *file, int line, const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

#define TEST(name) static void name(void)
#define RUN(name) test_run(#name, name)

#define CHECK(cond) test_check((cond) ? 1 : 0, __FILE__, __LINE__, #cond)
#define CHECK_EQ_INT(actual, expected) \
    test_check_int((long long)(actual), (long long)(expected), __FILE__, __LINE__, #actual)
#define CHECK_EQ_U64(actual, expected) \
    test_check_u64((uint64_t)(actual), (uint64_t)(expected), __FILE__, __LINE__, #actual)
#define CHECK_EQ_MEM(actual, actual_len, expected, expected_len)                            \
    test_check_mem((actual), (actual_len), (expected), (expected_len), __FILE__, __LINE__, \
                   #actual)
/* NUL-terminated strings; NULL is a value of its own. */
#define CHECK_EQ_STR(actual, expected) \
    test_check_str((actual), (expected), __FILE__, __LINE__, #actual)
#define FAIL(...) test_fail(__FILE__, __LINE__, __VA_ARGS__)

/* The suites, one per tests/unit/test_*.c file (test_main.c aside), run by test_main.c in
   this order. */
void suite_crypto(void);
void suite_utf8(void);
void suite_hs_server(void);
void suite_hs_client(void);
void suite_vectors(void);
void suite_frame(void);
void suite_close(void);
void suite_encode(void);
void suite_keepalive(void);
void suite_limits(void);
void suite_strerror(void);
void suite_fastpath(void);
void suite_contract(void);
void suite_wire(void);

#endif /* TEST_H_INCLUDED */
