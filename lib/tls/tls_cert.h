/*
 * Certificate helpers shared by both TLS backends (lib/tls only). They
 * parse with mbedTLS's X.509 and PK code, which stays a dependency
 * whichever library runs the protocol: certificates and keys are read,
 * checked and named the same way (and fail with the same messages) on
 * both backends.
 */
#ifndef XI_TLS_CERT_H
#define XI_TLS_CERT_H

#include <mbedtls/pk.h>
#include <mbedtls/x509_crt.h>

#include "tls/tls.h"

/* One identity from a client certificate (see xi_tls_peer_name). */
struct xi_tls_peer_name {
    xi_tls_name_type type;
    char *value;
};

/* Entropy callback for mbedtls_ctr_drbg_seed over an xmppcore_env. */
int xi_tls_entropy(void *env, unsigned char *buf, size_t len);

/* mbedTLS error text for ret, prefixed with what, into buf. */
void xi_tls_strerror(char *buf, size_t size, const char *what, int ret);

/* Formats fmt (with one %s for arg) into err, followed by mbedTLS's text
 * for mbed_ret when it is not 0. Returns code. */
int xi_tls_set_err(char *err, size_t size, int code, const char *fmt,
                   const char *arg, int mbed_ret);

/*
 * Parses a certificate chain and its private key, from PEM text or (files)
 * from files, and checks them: an EC or RSA key that matches the leaf.
 * The caller inits chain and key and frees them in every case.
 * Returns 0 or the xi_tls_config_add_cert_pem codes, with the message in
 * err.
 */
int xi_tls_parse_cert(mbedtls_x509_crt *chain, mbedtls_pk_context *key,
                      const char *chain_src, const char *key_src,
                      const char *password, bool files, char *err,
                      size_t errsz);

/* Adds trust anchors from PEM text or a file; codes as above. */
int xi_tls_parse_ca(mbedtls_x509_crt *ca, const char *src, bool file, char *err,
                    size_t errsz);

/* A lower-case, NUL-terminated copy of p (NULL when empty, when it holds
 * a NUL, or out of memory). */
char *xi_tls_lower_dup(const xmppcore_mem *mem, const unsigned char *p,
                       size_t len);

/* The names a server certificate is picked for by SNI: the leaf's SAN
 * dNSNames, else its CN, lower-case, appended to *names / *n. Returns 0
 * or XMPPCORE_E_NOMEM (what was appended stays for the caller to free). */
int xi_tls_cert_names(const xmppcore_mem *mem, const mbedtls_x509_crt *leaf,
                      char ***names, size_t *n);

/* tls-server-end-point (RFC 5929 §4.1) of leaf: the hash of its DER with
 * its signature's hash, SHA-256 for MD5 and SHA-1. Returns 0,
 * XMPPCORE_E_UNSUPPORTED, XMPPCORE_E_RANGE or XMPPCORE_E_INTERNAL. */
int xi_tls_end_point(const mbedtls_x509_crt *leaf, unsigned char *out,
                     size_t cap, size_t *len);

/* The identities of a client certificate, as xi_tls_peer_name lists
 * them, into a new array *v of *n. Returns 0 or XMPPCORE_E_NOMEM
 * (nothing is left allocated then). */
int xi_tls_peer_names(const xmppcore_mem *mem, const mbedtls_x509_crt *crt,
                      struct xi_tls_peer_name **v, size_t *n);
void xi_tls_peer_names_free(const xmppcore_mem *mem, struct xi_tls_peer_name *v,
                            size_t n);

#endif
