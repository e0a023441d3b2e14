/* test_main.c - runs every suite of ws.h's unit tests and ends with "N passed, N failed".

   This is the one translation unit of the test binary that compiles the implementation of
   ws.h; every other file of tests/unit/ includes only the declarations. The runner of
   test.h is implemented here too.

   Build and run from the top of the repository (the Makefile does the same):
       cc -std=c99 -Wall -Wextra -Wpedantic -Werror -I. tests/unit/[a-z]*.c -o build/test_ws
       build/test_ws                     # every suite; TEST_SEED=1234 repeats a seed
       build/test_ws frame               # one suite (or one test of any suite by its name)
       build/test_ws frame/errors_are_sticky close/peer_*   # one test; a prefix with '*'
       build/test_ws --list              # suite/test names, nothing run */
#define WS_IMPLEMENTATION
#include "../../ws.h"
#include "test.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

test_counters test_g;

enum { TEST_MAX_PRINTED = 6 };  /* failing checks printed per test; the rest are counted */

/* Which tests run: all of them when no name was given on the command line. The runner's
   own state, set once by main(). */
enum { TEST_MAX_NAMES = 64 };
static struct {
    int count;                          /* names given; 0 = run everything */
    const char *name[TEST_MAX_NAMES];
    int matched[TEST_MAX_NAMES];        /* tests each name selected */
    int list_only;                      /* --list: print names, run nothing */
} test_sel;

/* "abc*" matches every name starting with "abc"; anything else matches itself only. */
static int test_name_matches(const char *pattern, size_t plen, const char *name) {
    if (plen > 0 && pattern[plen - 1] == '*')
        return strncmp(pattern, name, plen - 1) == 0;
    return strlen(name) == plen && strncmp(pattern, name, plen) == 0;
}

/* SUITE, TEST (a test of any suite) or SUITE/TEST, each part possibly ending in '*'. */
static int test_selected(const char *suite, const char *test) {
    int i, any = 0;
    if (test_sel.count == 0)
        return 1;
    for (i = 0; i < test_sel.count; i++) {
        const char *p = test_sel.name[i], *slash = strchr(p, '/');
        int hit;
        if (slash)
            hit = test_name_matches(p, (size_t)(slash - p), suite) &&
                  test_name_matches(slash + 1, strlen(slash + 1), test);
        else
            hit = test_name_matches(p, strlen(p), suite) ||
                  test_name_matches(p, strlen(p), test);
        if (hit) {
            test_sel.matched[i]++;
            any = 1;
        }
    }
    return any;
}

void test_suite_begin(const char *name) {
    test_g.suite = name;
    test_g.suite_passed = 0;
    test_g.suite_failed = 0;
}

void test_suite_end(void) {
    if (test_sel.count > 0 && test_g.suite_passed + test_g.suite_failed == 0)
        return;     /* nothing of this suite was selected */
    if (test_sel.list_only)
        return;
    if (test_g.suite_failed)
        printf("%-12s %d passed, %d failed\n", test_g.suite, test_g.suite_passed,
               test_g.suite_failed);
    else
        printf("%-12s %d passed\n", test_g.suite, test_g.suite_passed);
}

void test_run(const char *name, void (*fn)(void)) {
    if (!test_selected(test_g.suite ? test_g.suite : "", name))
        return;
    if (test_sel.list_only) {
        printf("%s/%s\n", test_g.suite ? test_g.suite : "", name);
        test_g.suite_passed++;  /* counted so that the suite shows as selected */
        return;
    }
    test_g.test = name;
    test_g.checks = 0;
    test_g.test_failures = 0;
    test_g.context[0] = '\0';
    fn();
    test_g.context[0] = '\0';
    if (test_g.checks == 0)
        test_fail(__FILE__, __LINE__, "the test ran no check");
    if (test_g.test_failures > TEST_MAX_PRINTED)
        printf("%-12s %ld failed checks in %s, the first %d shown\n", "",
               test_g.test_failures, name, TEST_MAX_PRINTED);
    if (test_g.test_failures) {
        test_g.suite_failed++;
        test_g.failed++;
    } else {
        test_g.suite_passed++;
        test_g.passed++;
    }
}

void test_context(const char *fmt, ...) {
    va_list ap;
    if (!fmt) {
        test_g.context[0] = '\0';
        return;
    }
    va_start(ap, fmt);
    vsnprintf(test_g.context, sizeof test_g.context, fmt, ap);
    va_end(ap);
}

void test_context_add(const char *fmt, ...) {
    va_list ap;
    size_t used = strlen(test_g.context);
    if (used + 1 >= sizeof test_g.context)
        return;
    va_start(ap, fmt);
    vsnprintf(test_g.context + used, sizeof test_g.context - used, fmt, ap);
    va_end(ap);
}

void test_hex_brief(char *out, size_t cap, const void *p, size_t n, size_t max) {
    const uint8_t *b = (const uint8_t *)p;
    size_t i, used = 0;
    if (cap == 0)
        return;
    out[0] = '\0';
    for (i = 0; i < n && i < max && used + 4 < cap; i++)
        used += (size_t)snprintf(out + used, cap - used, "%02x ", b[i]);
    if (n > max && used + 4 < cap)
        used += (size_t)snprintf(out + used, cap - used, ".. ");
    if (used < cap)
        snprintf(out + used, cap - used, "(%lu bytes)", (unsigned long)n);
}

unsigned long test_seed(void) {
    static unsigned long seed;  /* the runner's own state: chosen once per run */
    static int chosen;
    if (!chosen) {
        const char *env = getenv("TEST_SEED");
        if (env && *env)
            seed = strtoul(env, NULL, 10);
        else
            seed = (unsigned long)time(NULL) % 100000ul;
        chosen = 1;
    }
    return seed;
}

uint32_t test_rand(uint64_t *state) {
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return (uint32_t)((x * 2685821657736338717ull) >> 32);
}

/* Prints the first line of a failure; returns 1 when its details should be printed. */
static int test_fail_head(const char *file, int line) {
    test_g.test_failures++;
    if (test_g.test_failures > TEST_MAX_PRINTED)
        return 0;
    printf("%-12s FAIL %s  (%s:%d)\n", test_g.suite ? test_g.suite : "", test_g.test, file,
           line);
    return 1;
}

static void test_fail_tail(void) {
    if (test_g.context[0])
        printf("%-12s %s\n", "", test_g.context);
}

int test_fail(const char *file, int line, const char *fmt, ...) {
    va_list ap;
    test_g.checks++;
    if (!test_fail_head(file, line))
        return 0;
    printf("%-12s ", "");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    test_fail_tail();
    return 0;
}

int test_check(int ok, const char *file, int line, const char *expr) {
    test_g.checks++;
    if (ok)
        return 1;
    if (test_fail_head(file, line)) {
        printf("%-12s check failed: %s\n", "", expr);
        test_fail_tail();
    }
    return 0;
}

int test_check_int(long long actual, long long expected, const char *file, int line,
                   const char *expr) {
    test_g.checks++;
    if (actual == expected)
        return 1;
    if (test_fail_head(file, line)) {
        printf("%-12s %s: expected %lld, got %lld\n", "", expr, expected, actual);
        test_fail_tail();
    }
    return 0;
}

int test_check_u64(uint64_t actual, uint64_t expected, const char *file, int line,
                   const char *expr) {
    test_g.checks++;
    if (actual == expected)
        return 1;
    if (test_fail_head(file, line)) {
        printf("%-12s %s: expected %llu, got %llu\n", "", expr, (unsigned long long)expected,
               (unsigned long long)actual);
        test_fail_tail();
    }
    return 0;
}

static void test_dump(const char *label, const uint8_t *p, size_t n, size_t from) {
    size_t i, start = from > 16 ? (from - 16) & ~(size_t)15 : 0, shown = 0;
    printf("%-12s %s (%lu bytes):", "", label, (unsigned long)n);
    if (start > 0)
        printf(" ..");
    for (i = start; i < n && shown < 64; i++, shown++) {
        if (shown % 16 == 0)
            printf("\n%-12s   %04lx:", "", (unsigned long)i);
        printf(i == from ? " [%02x]" : " %02x", p[i]);
    }
    if (i < n)
        printf(" ..");
    printf("\n");
}

int test_check_mem(const void *actual, size_t actual_len, const void *expected,
                   size_t expected_len, const char *file, int line, const char *expr) {
    const uint8_t *a = (const uint8_t *)actual, *e = (const uint8_t *)expected;
    size_t i, n = actual_len < expected_len ? actual_len : expected_len;
    test_g.checks++;
    if (actual_len == expected_len && (n == 0 || (a && e && memcmp(a, e, n) == 0)))
        return 1;
    if (!test_fail_head(file, line))
        return 0;
    if (!a || !e) {
        printf("%-12s %s: %s pointer\n", "", expr, a ? "expected a NULL" : "got a NULL");
        test_fail_tail();
        return 0;
    }
    for (i = 0; i < n && a[i] == e[i]; i++)
        continue;
    printf("%-12s %s: expected %lu bytes, got %lu, first difference at offset %lu\n", "",
           expr, (unsigned long)expected_len, (unsigned long)actual_len, (unsigned long)i);
    test_dump("expected", e, expected_len, i);
    test_dump("actual  ", a, actual_len, i);
    test_fail_tail();
    return 0;
}

static void test_print_escaped(const char *s) {
    size_t i, n = strlen(s);
    putchar('"');
    for (i = 0; i < n && i < 600; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '\r')
            printf("\\r");
        else if (ch == '\n')
            printf("\\n");
        else if (ch < 0x20 || ch > 0x7e)
            printf("\\x%02x", ch);
        else
            putchar(ch);
    }
    if (i < n)
        printf("\"... (%lu chars)", (unsigned long)n);
    else
        putchar('"');
}

int test_check_str(const char *actual, const char *expected, const char *file, int line,
                   const char *expr) {
    size_t i;
    test_g.checks++;
    if (actual == expected || (actual && expected && strcmp(actual, expected) == 0))
        return 1;
    if (!test_fail_head(file, line))
        return 0;
    if (!actual || !expected) {
        printf("%-12s %s: expected %s, got %s\n", "", expr, expected ? expected : "NULL",
               actual ? actual : "NULL");
        test_fail_tail();
        return 0;
    }
    for (i = 0; actual[i] && actual[i] == expected[i]; i++)
        continue;
    printf("%-12s %s: first difference at offset %lu\n%-12s expected ", "", expr,
           (unsigned long)i, "");
    test_print_escaped(expected);
    printf("\n%-12s actual   ", "");
    test_print_escaped(actual);
    printf("\n");
    if (i > 40) {
        printf("%-12s from the difference on: expected ", "");
        test_print_escaped(expected + i - 10);
        printf("\n%-12s                       actual   ", "");
        test_print_escaped(actual + i - 10);
        printf("\n");
    }
    test_fail_tail();
    return 0;
}

static int test_usage(const char *argv0, FILE *out) {
    fprintf(out,
            "usage: %s [--list] [NAME...]\n"
            "Runs ws.h's unit tests and ends with \"N passed, N failed\".\n"
            "  NAME         a suite (frame), a test of any suite (errors_are_sticky), or\n"
            "               SUITE/TEST (frame/errors_are_sticky); a trailing * matches a prefix\n"
            "               (frame/rfc_*). Without NAME every test runs.\n"
            "  -l, --list   print the selected tests as SUITE/TEST, run nothing\n"
            "  TEST_SEED=N  in the environment: repeat the seed of an earlier run\n",
            argv0);
    return out == stdout ? 0 : 2;
}

int main(int argc, char **argv) {
    int i;
    setvbuf(stdout, NULL, _IOLBF, 0);   /* every line out before a sanitizer aborts */
    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
            return test_usage(argv[0], stdout);
        if (strcmp(argv[i], "-l") == 0 || strcmp(argv[i], "--list") == 0) {
            test_sel.list_only = 1;
        } else if (argv[i][0] == '-' || argv[i][0] == '\0') {
            fprintf(stderr, "%s: unknown option '%s'\n", argv[0], argv[i]);
            return test_usage(argv[0], stderr);
        } else if (test_sel.count == TEST_MAX_NAMES) {
            fprintf(stderr, "%s: at most %d names\n", argv[0], TEST_MAX_NAMES);
            return 2;
        } else {
            test_sel.name[test_sel.count++] = argv[i];
        }
    }
    if (!test_sel.list_only)
        printf("ws.h %s unit tests, seed=%lu (TEST_SEED=%lu repeats it)\n", WS_VERSION_STRING,
               test_seed(), test_seed());
    suite_crypto();
    suite_utf8();
    suite_hs_server();
    suite_hs_client();
    suite_vectors();
    suite_frame();
    suite_close();
    suite_encode();
    suite_keepalive();
    suite_limits();
    suite_strerror();
    suite_fastpath();
    suite_contract();
    suite_wire();
    for (i = 0; i < test_sel.count; i++) {
        if (!test_sel.matched[i]) {     /* a misspelt name must not pass as "0 failed" */
            printf("no suite or test is named '%s' (--list shows them)\n", test_sel.name[i]);
            test_g.failed++;
        }
    }
    if (test_sel.list_only)
        return test_g.failed ? 2 : 0;
    printf("%d passed, %d failed\n", test_g.passed, test_g.failed);
    return test_g.failed ? 1 : 0;
}
