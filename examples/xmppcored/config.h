/*
 * xmppcored's configuration: an ejabberd-style YAML file read with
 * libyaml into plain data, with every error reported as FILE:LINE:COL.
 * Shared by xmppcored and xmppcorectl.
 */
#ifndef XD_CONFIG_H
#define XD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

typedef struct {
    int line, col; /* 1-based; 0 when not from the file */
} xd_mark;

/* A server option (server.h name) with its value as text. */
typedef struct {
    const char *name;
    char value[32];
    xd_mark mark;
} xd_opt;

#define XD_MAX_OPTS 8

typedef struct {
    int port;
    char ip[64];
    int tls;               /* direct TLS (XEP-0368) */
    int starttls;          /* -1: the library's default */
    int starttls_required; /* -1: the library's default */
    xd_mark mark;
} xd_listen;

typedef struct {
    char *host;
    xd_opt opts[XD_MAX_OPTS];
    size_t n_opts;
    xd_mark mark;
} xd_host_config;

typedef struct {
    char *path;            /* the config file as given */
    char *dir;             /* its folder, absolute */
    char **hosts;          /* enforced domainparts */
    size_t n_hosts;
    int loglevel;          /* XMPPCORE_LOG_*; 0: none */
    char **certfiles;      /* absolute paths */
    xd_mark *certfile_marks;
    size_t n_certfiles;
    xd_listen *listen;
    size_t n_listen;
    char *sql_database;    /* absolute */
    bool sql_exclusive;    /* hold the database lock while running */
    char *admin_socket;    /* absolute */
    xd_opt opts[XD_MAX_OPTS]; /* for every vhost */
    size_t n_opts;
    xd_host_config *host_config;
    size_t n_host_config;
    char *errors;          /* "FILE:L:C: message\n" lines */
    size_t n_errors;
} xd_config;

/* Flags for xd_config_load. */
enum {
    XD_CONFIG_CHECK_FILES = 1 /* certfiles must exist and be readable */
};

/*
 * Reads and checks path. Returns the config (its n_errors may be > 0:
 * print cfg->errors and give up), or NULL when out of memory.
 */
xd_config *xd_config_load(const char *path, int flags);
void xd_config_free(xd_config *cfg);

/* Adds an error to cfg (mark may be NULL). */
void xd_config_error(xd_config *cfg, const xd_mark *mark, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* The host as configured (enforced form) or NULL if cfg does not serve
 * it; host is enforced as a domainpart first. */
const char *xd_config_find_host(const xd_config *cfg, const char *host);

/* Makes the folders leading to path (mode 0700 for new ones). 0 or -1
 * with errno. */
int xd_mkdir_parents(const char *path);

#endif
