/*
 * SHA-1 / SHA-256 block functions with the x86 SHA extensions (see
 * sha_ni.h), written from the instruction definitions in Intel's SDM:
 * SHA256RNDS2 runs two rounds on the state split as ABEF/CDGH, SHA256MSG1
 * and SHA256MSG2 extend the message schedule four words at a time;
 * SHA1RNDS4 runs four rounds with A..D in one register and E derived by
 * SHA1NEXTE from A four rounds earlier. Selected at run time by CPUID;
 * tested against mbedTLS on random states and blocks.
 */
#include "sasl/sha_ni.h"

#if defined(__x86_64__) && defined(__GNUC__)

#include <cpuid.h>
#include <immintrin.h>

bool xi_sha_ni_available(void)
{
    static int cached = -1;
    if (cached < 0) {
        unsigned a, b, c, d;
        int ok = 0;
        if (__get_cpuid(1, &a, &b, &c, &d) && (c & bit_SSSE3) &&
            (c & bit_SSE4_1) && __get_cpuid_max(0, NULL) >= 7) {
            __cpuid_count(7, 0, a, b, c, d);
            ok = (b & bit_SHA) != 0;
        }
        cached = ok;
    }
    return cached == 1;
}

#define NI_TARGET __attribute__((target("sha,sse4.1,ssse3")))

static const uint32_t K256[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1,
    0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
    0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
    0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
    0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
    0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
    0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
    0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

NI_TARGET void xi_sha256_ni_block(uint32_t state[8], const unsigned char block[64])
{
    /* Big-endian words within each 32-bit lane. */
    const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bLL,
                                         0x0405060700010203LL);
    __m128i dcba = _mm_loadu_si128((const __m128i *)&state[0]);
    __m128i hgfe = _mm_loadu_si128((const __m128i *)&state[4]);
    __m128i cdab = _mm_shuffle_epi32(dcba, 0xB1);
    __m128i efgh = _mm_shuffle_epi32(hgfe, 0x1B);
    __m128i abef = _mm_alignr_epi8(cdab, efgh, 8);
    __m128i cdgh = _mm_blend_epi16(efgh, cdab, 0xF0);
    const __m128i abef0 = abef, cdgh0 = cdgh;
    __m128i w[4];

    for (int g = 0; g < 16; g++) {
        __m128i m;
        if (g < 4) {
            m = _mm_shuffle_epi8(
                _mm_loadu_si128((const __m128i *)(block + 16 * g)), bswap);
        } else {
            /* W[t..t+3] from W[t-16..t-1] */
            __m128i t = _mm_sha256msg1_epu32(w[g & 3], w[(g + 1) & 3]);
            t = _mm_add_epi32(t, _mm_alignr_epi8(w[(g + 3) & 3],
                                                 w[(g + 2) & 3], 4));
            m = _mm_sha256msg2_epu32(t, w[(g + 3) & 3]);
        }
        w[g & 3] = m;
        __m128i wk = _mm_add_epi32(
            m, _mm_loadu_si128((const __m128i *)&K256[4 * g]));
        cdgh = _mm_sha256rnds2_epu32(cdgh, abef, wk);
        wk = _mm_shuffle_epi32(wk, 0x0E);
        abef = _mm_sha256rnds2_epu32(abef, cdgh, wk);
    }
    abef = _mm_add_epi32(abef, abef0);
    cdgh = _mm_add_epi32(cdgh, cdgh0);
    /* back to A..D and E..H */
    __m128i feba = _mm_shuffle_epi32(abef, 0x1B);
    __m128i dchg = _mm_shuffle_epi32(cdgh, 0xB1);
    dcba = _mm_blend_epi16(feba, dchg, 0xF0);
    hgfe = _mm_alignr_epi8(dchg, feba, 8);
    _mm_storeu_si128((__m128i *)&state[0], dcba);
    _mm_storeu_si128((__m128i *)&state[4], hgfe);
}

NI_TARGET static __m128i sha1_rounds(__m128i abcd, __m128i e, int f)
{
    /* The function selector must be an immediate. */
    switch (f) {
    case 0: return _mm_sha1rnds4_epu32(abcd, e, 0);
    case 1: return _mm_sha1rnds4_epu32(abcd, e, 1);
    case 2: return _mm_sha1rnds4_epu32(abcd, e, 2);
    default: return _mm_sha1rnds4_epu32(abcd, e, 3);
    }
}

NI_TARGET void xi_sha1_ni_block(uint32_t state[5], const unsigned char block[64])
{
    /* Whole-register byte reversal: W0 ends up in the high lane. */
    const __m128i rev = _mm_set_epi64x(0x0001020304050607LL,
                                       0x08090a0b0c0d0e0fLL);
    __m128i abcd = _mm_shuffle_epi32(
        _mm_loadu_si128((const __m128i *)state), 0x1B);
    __m128i e0 = _mm_set_epi32((int)state[4], 0, 0, 0);
    const __m128i abcd0 = abcd, e00 = e0;
    __m128i w[4], prev = abcd;

    for (int g = 0; g < 20; g++) {
        __m128i m;
        if (g < 4) {
            m = _mm_shuffle_epi8(
                _mm_loadu_si128((const __m128i *)(block + 16 * g)), rev);
        } else {
            __m128i t = _mm_sha1msg1_epu32(w[g & 3], w[(g + 1) & 3]);
            t = _mm_xor_si128(t, w[(g + 2) & 3]);
            m = _mm_sha1msg2_epu32(t, w[(g + 3) & 3]);
        }
        w[g & 3] = m;
        __m128i e = g == 0 ? _mm_add_epi32(e0, m) : _mm_sha1nexte_epu32(prev, m);
        prev = abcd;
        abcd = sha1_rounds(abcd, e, g / 5);
    }
    e0 = _mm_sha1nexte_epu32(prev, e00);
    abcd = _mm_add_epi32(abcd, abcd0);
    _mm_storeu_si128((__m128i *)state, _mm_shuffle_epi32(abcd, 0x1B));
    state[4] = (uint32_t)_mm_extract_epi32(e0, 3);
}

#else /* not x86-64 with GCC/Clang */

bool xi_sha_ni_available(void)
{
    return false;
}

void xi_sha256_ni_block(uint32_t state[8], const unsigned char block[64])
{
    (void)state;
    (void)block;
}

void xi_sha1_ni_block(uint32_t state[5], const unsigned char block[64])
{
    (void)state;
    (void)block;
}

#endif
