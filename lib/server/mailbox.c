/*
 * The mailbox: the thread-safe queue through which other threads hand
 * stanzas and functions to a server. One mutex guards a singly linked
 * FIFO; posting wakes the owner only on the empty -> non-empty edge, and
 * a drain takes the whole list at once, so a busy producer costs one
 * wake-up per drain rather than one per item. Items are allocated with
 * malloc, not the server's allocator, because they are made on other
 * threads (an injected allocator need not be thread-safe).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "server/server_int.h"

typedef struct mb_item {
    struct mb_item *next;
    xmppcore_stanza *stanza;   /* a stanza to route, or */
    void (*fn)(void *);        /* a function to run */
    void *user_data;
} mb_item;

struct xmppcore_mailbox {
    xmppcore_server *server;
    xmppcore_mailbox_wake_fn wake;
    void *wake_data;
    pthread_mutex_t mu;
    mb_item *head, *tail;
    size_t n;
};

xmppcore_mailbox *xmppcore_mailbox_new(xmppcore_server *server,
                                       xmppcore_mailbox_wake_fn wake,
                                       void *user_data)
{
    if (!server)
        return NULL;
    xmppcore_mailbox *mb = calloc(1, sizeof *mb);
    if (!mb)
        return NULL;
    if (pthread_mutex_init(&mb->mu, NULL) != 0) {
        free(mb);
        return NULL;
    }
    mb->server = server;
    mb->wake = wake;
    mb->wake_data = user_data;
    return mb;
}

static void item_free(mb_item *it)
{
    xmppcore_stanza_free(it->stanza);
    free(it);
}

void xmppcore_mailbox_free(xmppcore_mailbox *mb)
{
    if (!mb)
        return;
    for (mb_item *it = mb->head, *next; it; it = next) {
        next = it->next;
        item_free(it);
    }
    pthread_mutex_destroy(&mb->mu);
    free(mb);
}

static void post(xmppcore_mailbox *mb, mb_item *it)
{
    it->next = NULL;
    pthread_mutex_lock(&mb->mu);
    bool was_empty = mb->head == NULL;
    if (mb->tail)
        mb->tail->next = it;
    else
        mb->head = it;
    mb->tail = it;
    mb->n++;
    pthread_mutex_unlock(&mb->mu);
    /* Outside the lock: the wake may be a system call. A drain that
     * runs between the unlock and this call finds the item already;
     * the extra wake-up then finds nothing, which is harmless. */
    if (was_empty && mb->wake)
        mb->wake(mb->wake_data);
}

int xmppcore_mailbox_post_stanza(xmppcore_mailbox *mb,
                                 const xmppcore_stanza *stanza)
{
    if (!mb || !stanza || xmppcore_stanza_parent(stanza) ||
        xmppcore_stanza_is_text(stanza) ||
        !xmppcore_stanza_attr(stanza, "from") ||
        !xmppcore_stanza_attr(stanza, "to"))
        return XMPPCORE_E_INVAL;
    mb_item *it = calloc(1, sizeof *it);
    if (!it)
        return XMPPCORE_E_NOMEM;
    it->stanza = xmppcore_stanza_copy(stanza);
    if (!it->stanza) {
        free(it);
        return XMPPCORE_E_NOMEM;
    }
    post(mb, it);
    return 0;
}

int xmppcore_mailbox_post_fn(xmppcore_mailbox *mb, void (*fn)(void *),
                             void *user_data)
{
    if (!mb || !fn)
        return XMPPCORE_E_INVAL;
    mb_item *it = calloc(1, sizeof *it);
    if (!it)
        return XMPPCORE_E_NOMEM;
    it->fn = fn;
    it->user_data = user_data;
    post(mb, it);
    return 0;
}

size_t xmppcore_mailbox_drain(xmppcore_mailbox *mb)
{
    if (!mb)
        return 0;
    pthread_mutex_lock(&mb->mu);
    mb_item *it = mb->head;
    mb->head = mb->tail = NULL;
    mb->n = 0;
    pthread_mutex_unlock(&mb->mu);
    size_t n = 0;
    while (it) {
        mb_item *next = it->next;
        if (it->stanza) {
            /* Copied for the log line: the send consumes the stanza. */
            char name[32], from[128];
            snprintf(name, sizeof name, "%s", xmppcore_stanza_name(it->stanza));
            snprintf(from, sizeof from, "%s",
                     xmppcore_stanza_attr(it->stanza, "from"));
            xmppcore_stanza *st = it->stanza;
            it->stanza = NULL;
            int rc = xi_server_send_owned(mb->server, st);
            if (rc < 0)
                xi_log(mb->server, rc == XMPPCORE_E_NOMEM
                                       ? XMPPCORE_LOG_ERROR
                                       : XMPPCORE_LOG_WARNING,
                       "mailbox: dropped a <%s/> from %s (%s)", name, from,
                       rc == XMPPCORE_E_NOMEM ? "out of memory"
                                              : "not a JID of this server");
        } else {
            it->fn(it->user_data);
        }
        free(it);
        n++;
        it = next;
    }
    return n;
}

size_t xmppcore_mailbox_pending(xmppcore_mailbox *mb)
{
    if (!mb)
        return 0;
    pthread_mutex_lock(&mb->mu);
    size_t n = mb->n;
    pthread_mutex_unlock(&mb->mu);
    return n;
}
