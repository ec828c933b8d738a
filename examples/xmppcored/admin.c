/* Encoding of the admin socket's lines (see admin.h). */
#include "admin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char hexd[] = "0123456789abcdef";

int xd_field_put(char *buf, size_t cap, size_t *len, const char *field)
{
    size_t n = *len;
    if (n > 0) {
        if (n + 1 >= cap)
            return -1;
        buf[n++] = ' ';
    }
    for (const unsigned char *p = (const unsigned char *)field; *p; p++) {
        if (*p <= 0x20 || *p == 0x7f || *p == '%') {
            if (n + 3 >= cap)
                return -1;
            buf[n++] = '%';
            buf[n++] = hexd[*p >> 4];
            buf[n++] = hexd[*p & 15];
        } else {
            if (n + 1 >= cap)
                return -1;
            buf[n++] = (char)*p;
        }
    }
    buf[n] = '\0';
    *len = n;
    return 0;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int xd_fields_split(char *line, char **fields, int max)
{
    int n = 0;
    char *p = line;
    if (!*p)
        return 0;
    for (;;) {
        if (n == max)
            return -1;
        fields[n++] = p;
        char *out = p;
        while (*p && *p != ' ') {
            if (*p == '%') {
                int a = hexval((unsigned char)p[1]);
                int b = a < 0 ? -1 : hexval((unsigned char)p[2]);
                if (b < 0 || (a == 0 && b == 0))
                    return -1;
                *out++ = (char)(a << 4 | b);
                p += 3;
            } else {
                *out++ = *p++;
            }
        }
        int end = !*p;
        *out = '\0';
        if (end)
            return n;
        p++;
    }
}

static int hex_put(char *buf, size_t cap, size_t *len, const unsigned char *b,
                   size_t n)
{
    if (*len + 2 + 2 * n + 1 >= cap)
        return -1;
    buf[(*len)++] = ' ';
    if (n == 0) /* "-" stands for no bytes */
        buf[(*len)++] = '-';
    for (size_t i = 0; i < n; i++) {
        buf[(*len)++] = hexd[b[i] >> 4];
        buf[(*len)++] = hexd[b[i] & 15];
    }
    buf[*len] = '\0';
    return 0;
}

static int keys_put(char *buf, size_t cap, size_t *len,
                    const xmppcore_scram_keys *k, size_t key_len)
{
    int w = snprintf(buf + *len, cap - *len, " %u", (unsigned)k->iterations);
    if (w < 0 || (size_t)w >= cap - *len)
        return -1;
    *len += (size_t)w;
    if (k->iterations == 0) /* an absent hash */
        return hex_put(buf, cap, len, k->salt, 0) ||
               hex_put(buf, cap, len, k->stored_key, 0) ||
               hex_put(buf, cap, len, k->server_key, 0);
    return hex_put(buf, cap, len, k->salt, k->salt_len) ||
           hex_put(buf, cap, len, k->stored_key, key_len) ||
           hex_put(buf, cap, len, k->server_key, key_len);
}

int xd_creds_put(char *buf, size_t cap, size_t *len,
                 const xmppcore_credentials *c)
{
    return keys_put(buf, cap, len, &c->sha1, 20) ||
                   keys_put(buf, cap, len, &c->sha256, 32)
               ? -1
               : 0;
}

static int hex_get(const char *s, unsigned char *out, size_t max, size_t *n)
{
    if (!strcmp(s, "-")) {
        *n = 0;
        return 0;
    }
    size_t l = strlen(s);
    if (l % 2 || l / 2 > max)
        return -1;
    for (size_t i = 0; i < l / 2; i++) {
        int a = hexval((unsigned char)s[2 * i]);
        int b = hexval((unsigned char)s[2 * i + 1]);
        if (a < 0 || b < 0)
            return -1;
        out[i] = (unsigned char)(a << 4 | b);
    }
    *n = l / 2;
    return 0;
}

static int keys_get(char *const *f, xmppcore_scram_keys *k, size_t key_len)
{
    char *end;
    unsigned long it = strtoul(f[0], &end, 10);
    if (*end || !*f[0] || it > 0xffffffffUL)
        return -1;
    size_t sl, a, b;
    if (hex_get(f[1], k->salt, sizeof k->salt, &sl) ||
        hex_get(f[2], k->stored_key, sizeof k->stored_key, &a) ||
        hex_get(f[3], k->server_key, sizeof k->server_key, &b))
        return -1;
    if (it != 0 && (a != key_len || b != key_len || sl == 0))
        return -1;
    k->iterations = (uint32_t)it;
    k->salt_len = (uint32_t)sl;
    return 0;
}

int xd_creds_parse(char *const *fields, xmppcore_credentials *c)
{
    memset(c, 0, sizeof *c);
    return keys_get(fields, &c->sha1, 20) || keys_get(fields + 4, &c->sha256, 32)
               ? -1
               : 0;
}
