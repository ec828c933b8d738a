/* Unit tests for lib/core: error codes, buffers, UTF-8 checks, env. */
#include "testlib.h"
#include "core/core.h"
#include "core/rng.h"

#include <sys/wait.h>
#include <unistd.h>

static void test_strerror(void)
{
    CHECK_STR(xmppcore_strerror(0), "success");
    CHECK_STR(xmppcore_strerror(12345), "unknown error");
    CHECK(!xmppcore_is_fatal(XMPPCORE_E_NOMEM));
    CHECK(!xmppcore_is_fatal(XMPPCORE_E_JID));
    CHECK(xmppcore_is_fatal(XMPPCORE_E_XML));
    CHECK(xmppcore_is_fatal(XMPPCORE_E_POLICY));
    CHECK_STR(xmppcore_stream_condition(XMPPCORE_E_XML), "not-well-formed");
    CHECK_STR(xmppcore_stream_condition(XMPPCORE_E_RESTRICTED_XML), "restricted-xml");
    CHECK_STR(xmppcore_stream_condition(XMPPCORE_E_POLICY), "policy-violation");
    CHECK_STR(xmppcore_stream_condition(XMPPCORE_E_BAD_PREFIX), "bad-namespace-prefix");
    CHECK_STR(xmppcore_stream_condition(XMPPCORE_E_INVALID_NAMESPACE), "invalid-namespace");
    CHECK_STR(xmppcore_stream_condition(XMPPCORE_E_ENCODING), "unsupported-encoding");
    CHECK_STR(xmppcore_stream_condition(-9999), "undefined-condition");
}

static void test_buffer(void)
{
    xmppcore_buffer *b = xmppcore_buffer_new(NULL);
    CHECK(b != NULL);
    CHECK_EQ_INT(xmppcore_buffer_len(b), 0);
    CHECK_STR(xmppcore_buffer_data(b), "");
    for (int i = 0; i < 1000; i++)
        CHECK_EQ_INT(xmppcore_buffer_append(b, "abcdefghij", 10), 0);
    CHECK_EQ_INT(xmppcore_buffer_len(b), 10000);
    xmppcore_buffer_consume(b, 9995);
    CHECK_STR(xmppcore_buffer_data(b), "fghij");
    /* Appending after a consume keeps the data contiguous and terminated. */
    CHECK_EQ_INT(xmppcore_buffer_append(b, "XY", 2), 0);
    CHECK_STR(xmppcore_buffer_data(b), "fghijXY");
    xmppcore_buffer_consume(b, 100);
    CHECK_EQ_INT(xmppcore_buffer_len(b), 0);
    CHECK_STR(xmppcore_buffer_data(b), "");
    xmppcore_buffer_free(b);
    xmppcore_buffer_free(NULL);
}

static void test_buffer_oom(void)
{
    tl_failmem fm;
    for (long n = 1; n < 20; n++) {
        xmppcore_mem m = tl_failmem_make(&fm, n);
        xmppcore_buffer *b = xmppcore_buffer_new(&m);
        if (b) {
            int rc = 0;
            for (int i = 0; i < 100 && rc == 0; i++)
                rc = xmppcore_buffer_append(b, "0123456789abcdef", 16);
            CHECK(rc == 0 || rc == XMPPCORE_E_NOMEM);
            xmppcore_buffer_free(b);
        }
        CHECK_EQ_INT(fm.live, 0);
    }
}

static void test_utf8(void)
{
    CHECK(xi_utf8_xml_valid("abc", 3));
    CHECK(xi_utf8_xml_valid("\xc3\xa9t\xc3\xa9", 5));           /* été */
    CHECK(xi_utf8_xml_valid("\xf0\x9f\x98\x80", 4));             /* emoji */
    CHECK(xi_utf8_xml_valid("a\tb\nc\r", 6));
    CHECK(!xi_utf8_xml_valid("a\x01", 2));                        /* C0 */
    CHECK(!xi_utf8_xml_valid("\xc0\xaf", 2));                     /* overlong */
    CHECK(!xi_utf8_xml_valid("\xe0\x80\xaf", 3));                 /* overlong */
    CHECK(!xi_utf8_xml_valid("\xed\xa0\x80", 3));                 /* surrogate */
    CHECK(!xi_utf8_xml_valid("\xef\xbf\xbe", 3));                 /* U+FFFE */
    CHECK(!xi_utf8_xml_valid("\xf4\x90\x80\x80", 4));             /* > U+10FFFF */
    CHECK(!xi_utf8_xml_valid("\xc3", 1));                         /* truncated */
    CHECK(!xi_utf8_xml_valid("\x80", 1));                         /* stray */
    CHECK(!xi_utf8_xml_valid("a\0b", 3));                         /* NUL */
}

static void test_env(void)
{
    unsigned char a[32] = {0}, b[32] = {0};
    CHECK_EQ_INT(xmppcore_rng_default(a, sizeof a, NULL), 0);
    CHECK_EQ_INT(xmppcore_rng_default(b, sizeof b, NULL), 0);
    CHECK(memcmp(a, b, sizeof a) != 0);
    int64_t t = xmppcore_clock_default(NULL);
    CHECK(t > 1700000000000LL); /* after 2023 */
    CHECK_STR(xmppcore_version(), XMPPCORE_VERSION);
    CHECK(XMPPCORE_VERSION_NUM > 0);
}

/* A seed source that counts its calls and can fail. */
struct seed_src {
    int calls;
    bool fail;
};

static int seed_fn(void *buf, size_t len, void *ud)
{
    struct seed_src *src = ud;
    src->calls++;
    if (src->fail)
        return XMPPCORE_E_INTERNAL;
    return xmppcore_rng_default(buf, len, NULL);
}

static void test_rng(void)
{
    struct seed_src src = {0, false};
    xi_rng *r = xi_rng_new(NULL, seed_fn, &src);
    CHECK(r != NULL);
    unsigned char a[32], b[32], zero[32] = {0};
    CHECK_EQ_INT(xi_rng_fill(a, sizeof a, r), 0);
    CHECK_EQ_INT(src.calls, 1); /* seeded once */
    for (int i = 0; i < 1000; i++) {
        CHECK_EQ_INT(xi_rng_fill(b, sizeof b, r), 0);
        CHECK(memcmp(a, b, sizeof a) != 0);
    }
    CHECK_EQ_INT(src.calls, 1); /* 32 KB later: still buffered */
    CHECK(memcmp(b, zero, sizeof b) != 0);
    /* odd sizes straddle blocks */
    unsigned char odd[256];
    for (size_t n = 0; n <= sizeof odd; n++)
        CHECK_EQ_INT(xi_rng_fill(odd, n, r), 0);
    /* large draws go to the source */
    unsigned char big[1000];
    int before = src.calls;
    CHECK_EQ_INT(xi_rng_fill(big, sizeof big, r), 0);
    CHECK_EQ_INT(src.calls, before + 1);
    /* a bit balance check over 64 KiB: far from a stuck generator */
    long ones = 0;
    for (int i = 0; i < 2048; i++) {
        CHECK_EQ_INT(xi_rng_fill(b, sizeof b, r), 0);
        for (size_t k = 0; k < sizeof b; k++)
            ones += __builtin_popcount(b[k]);
    }
    CHECK(ones > 2048L * 256 * 45 / 100 && ones < 2048L * 256 * 55 / 100);

    /* after fork, the child must not repeat the parent's next bytes */
    int fds[2];
    CHECK(pipe(fds) == 0);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        unsigned char c[32];
        int ok = xi_rng_fill(c, sizeof c, r) == 0 &&
                 write(fds[1], c, sizeof c) == (ssize_t)sizeof c;
        _exit(ok ? 0 : 1);
    }
    unsigned char child[32];
    CHECK(read(fds[0], child, sizeof child) == (ssize_t)sizeof child);
    int st = 0;
    CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    CHECK_EQ_INT(xi_rng_fill(a, sizeof a, r), 0);
    CHECK(memcmp(a, child, sizeof a) != 0);
    close(fds[0]);
    close(fds[1]);
    xi_rng_free(r);
    xi_rng_free(NULL);

    /* a failing source fails the draw */
    struct seed_src bad = {0, true};
    r = xi_rng_new(NULL, seed_fn, &bad);
    CHECK(r != NULL);
    CHECK_EQ_INT(xi_rng_fill(a, 8, r), XMPPCORE_E_INTERNAL);
    xi_rng_free(r);
}

TEST_MAIN(TEST_ENTRY(test_strerror), TEST_ENTRY(test_buffer),
          TEST_ENTRY(test_buffer_oom), TEST_ENTRY(test_utf8),
          TEST_ENTRY(test_env), TEST_ENTRY(test_rng))
