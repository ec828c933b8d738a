/*
 * A tiny unit-test harness: each test file is one program; tests are
 * functions listed in a table; CHECK records a failure and goes on.
 * main() prints "N passed, N failed" and exits non-zero on any failure.
 * Also a failing allocator for allocation-failure loops.
 */
#ifndef TESTLIB_H
#define TESTLIB_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xmppcore.h"

static int tl_failures;
static const char *tl_current;

#define CHECK(cond)                                                        \
    do {                                                                   \
        if (!(cond)) {                                                     \
            tl_failures++;                                                 \
            fprintf(stderr, "%s:%d: %s: CHECK(%s) failed\n", __FILE__,     \
                    __LINE__, tl_current, #cond);                          \
        }                                                                  \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                 \
    do {                                                                   \
        long long tl_a = (long long)(a), tl_b = (long long)(b);            \
        if (tl_a != tl_b) {                                                \
            tl_failures++;                                                 \
            fprintf(stderr, "%s:%d: %s: %s == %lld, expected %s == %lld\n", \
                    __FILE__, __LINE__, tl_current, #a, tl_a, #b, tl_b);   \
        }                                                                  \
    } while (0)

#define CHECK_STR(a, b)                                                    \
    do {                                                                   \
        const char *tl_a = (a), *tl_b = (b);                               \
        if (!tl_a || !tl_b || strcmp(tl_a, tl_b) != 0) {                   \
            tl_failures++;                                                 \
            fprintf(stderr, "%s:%d: %s: %s == \"%s\", expected \"%s\"\n",  \
                    __FILE__, __LINE__, tl_current, #a,                    \
                    tl_a ? tl_a : "(null)", tl_b ? tl_b : "(null)");       \
        }                                                                  \
    } while (0)

typedef struct {
    const char *name;
    void (*fn)(void);
} tl_test;

#define TEST_ENTRY(f) { #f, f }

static inline int tl_run(const tl_test *tests, size_t n)
{
    int passed = 0, failed = 0;
    if (xmppcore_init() != 0) {
        fprintf(stderr, "xmppcore_init failed\n");
        return 1;
    }
    for (size_t i = 0; i < n; i++) {
        int before = tl_failures;
        tl_current = tests[i].name;
        tests[i].fn();
        if (tl_failures == before) {
            passed++;
        } else {
            failed++;
            fprintf(stderr, "FAIL %s\n", tests[i].name);
        }
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}

#define TEST_MAIN(...)                                                     \
    int main(void)                                                         \
    {                                                                      \
        static const tl_test tl_tests[] = {__VA_ARGS__};                   \
        return tl_run(tl_tests, sizeof tl_tests / sizeof tl_tests[0]);     \
    }

/* An allocator that fails the allocation numbered fail_at (1-based; 0:
 * never) and counts live blocks, for out-of-memory loops. */
typedef struct {
    long count;    /* allocations made (malloc + realloc) */
    long fail_at;  /* the allocation that fails */
    long live;     /* blocks currently allocated */
    int failed;    /* set once a failure was injected */
} tl_failmem;

static void *tl_fm_malloc(size_t n, void *ud)
{
    tl_failmem *f = ud;
    if (++f->count == f->fail_at) {
        f->failed = 1;
        return NULL;
    }
    void *p = malloc(n);
    if (p)
        f->live++;
    return p;
}

static void *tl_fm_realloc(void *p, size_t n, void *ud)
{
    tl_failmem *f = ud;
    if (++f->count == f->fail_at) {
        f->failed = 1;
        return NULL;
    }
    return realloc(p, n);
}

static void tl_fm_free(void *p, void *ud)
{
    tl_failmem *f = ud;
    f->live--;
    free(p);
}

static inline xmppcore_mem tl_failmem_make(tl_failmem *f, long fail_at)
{
    memset(f, 0, sizeof *f);
    f->fail_at = fail_at;
    xmppcore_mem m = {XMPPCORE_MEM_VERSION, f, tl_fm_malloc, tl_fm_realloc,
                      tl_fm_free};
    return m;
}

#endif
