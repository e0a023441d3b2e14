/* test_strerror.c - ws_strerror: every code of WS_ERROR_LIST has its own non-empty message
   (the one the list gives), unknown values give "unknown error". */
#include "harness.h"

#include <string.h>

typedef struct err_entry {
    int         value;
    const char *name, *text;
} err_entry;

static const err_entry errors[] = {
#define ENTRY(name, value, text) {value, #name, text},
    WS_ERROR_LIST(ENTRY)
#undef ENTRY
};

enum { NERR = sizeof errors / sizeof errors[0] };

TEST(every_code_has_its_message) {
    size_t i;
    for (i = 0; i < NERR; i++) {
        const char *s = ws_strerror(errors[i].value);
        test_context("%s (%d)", errors[i].name, errors[i].value);
        if (!CHECK(s != NULL))
            continue;
        CHECK(s[0] != '\0');
        CHECK_EQ_STR(s, errors[i].text);
        CHECK(strcmp(s, "unknown error") != 0);
    }
}

TEST(messages_are_distinct) {
    size_t i, j;
    for (i = 0; i < NERR; i++)
        for (j = i + 1; j < NERR; j++) {
            test_context("%s and %s", errors[i].name, errors[j].name);
            CHECK(strcmp(ws_strerror(errors[i].value), ws_strerror(errors[j].value)) != 0);
            CHECK(errors[i].value != errors[j].value);
        }
}

TEST(codes_are_zero_then_consecutive_negatives) {
    size_t i;
    CHECK_EQ_INT(errors[0].value, WS_OK);
    CHECK_EQ_INT(WS_OK, 0);
    for (i = 1; i < NERR; i++)
        CHECK_EQ_INT(errors[i].value, -(int)i);
    CHECK_EQ_INT(WS__ERR_LAST, errors[NERR - 1].value);
}

TEST(unknown_codes) {
    static const int unknown[] = { 1,    2,     100,        WS__ERR_LAST - 1,
                                   -100, -1000, 2147483647, -2147483647 - 1 };
    size_t i;
    for (i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        test_context("%d", unknown[i]);
        CHECK_EQ_STR(ws_strerror(unknown[i]), "unknown error");
    }
}

void suite_strerror(void) {
    test_suite_begin("strerror");
    RUN(every_code_has_its_message);
    RUN(messages_are_distinct);
    RUN(codes_are_zero_then_consecutive_negatives);
    RUN(unknown_codes);
    test_suite_end();
}
