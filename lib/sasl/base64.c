/*
 * Strict base64 (RFC 4648 §4) for SASL element content (RFC 6120 §6.4.2):
 * whitespace, missing padding, characters outside the alphabet and
 * non-zero unused bits are all rejected, so every byte string has exactly
 * one accepted encoding.
 */
#include "sasl/sasl_int.h"

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t xi_sasl_b64_encoded_size(size_t n)
{
    return (n + 2) / 3 * 4 + 1;
}

void xi_sasl_b64_encode(const unsigned char *in, size_t n, char *out)
{
    size_t i = 0;
    while (n - i >= 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        *out++ = b64_alphabet[v >> 18];
        *out++ = b64_alphabet[(v >> 12) & 63];
        *out++ = b64_alphabet[(v >> 6) & 63];
        *out++ = b64_alphabet[v & 63];
        i += 3;
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        *out++ = b64_alphabet[v >> 18];
        *out++ = b64_alphabet[(v >> 12) & 63];
        *out++ = '=';
        *out++ = '=';
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        *out++ = b64_alphabet[v >> 18];
        *out++ = b64_alphabet[(v >> 12) & 63];
        *out++ = b64_alphabet[(v >> 6) & 63];
        *out++ = '=';
    }
    *out = '\0';
}

static int b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

int xi_sasl_b64_decode(const char *in, size_t n, unsigned char *out,
                       size_t *outlen)
{
    size_t o = 0;

    *outlen = 0;
    if (n % 4 != 0)
        return XMPPCORE_E_INVAL;
    for (size_t i = 0; i < n; i += 4) {
        int v[4];
        size_t pad = 0;
        bool last = i + 4 == n;
        for (int j = 0; j < 4; j++) {
            unsigned char c = (unsigned char)in[i + (size_t)j];
            if (c == '=' && last && j >= 2) {
                v[j] = 0;
                pad++;
                continue;
            }
            if (pad) /* data after padding */
                return XMPPCORE_E_INVAL;
            v[j] = b64_value(c);
            if (v[j] < 0)
                return XMPPCORE_E_INVAL;
        }
        uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 |
                     (uint32_t)v[2] << 6 | (uint32_t)v[3];
        /* The bits a padded group does not use must be zero. */
        if ((pad == 1 && (w & 0xff)) || (pad == 2 && (w & 0xffff)))
            return XMPPCORE_E_INVAL;
        out[o++] = (unsigned char)(w >> 16);
        if (pad < 2)
            out[o++] = (unsigned char)(w >> 8);
        if (pad < 1)
            out[o++] = (unsigned char)w;
    }
    *outlen = o;
    return 0;
}
