/*
 * Timers: a binary min-heap of timer records embedded in their owners
 * (connections), so arming or moving one never allocates once the heap
 * has grown. Time is the host's monotonic milliseconds.
 */
#ifndef XI_TIMER_H
#define XI_TIMER_H

#include "core/core.h"

typedef struct xi_timer xi_timer;
typedef void (*xi_timer_fn)(xi_timer *t, void *ud);

struct xi_timer {
    int64_t when;
    size_t index; /* position in the heap, SIZE_MAX when not armed */
    xi_timer_fn fn;
    void *ud;
};

typedef struct xi_timers {
    const xmppcore_mem *mem;
    xi_timer **heap;
    size_t n, cap;
} xi_timers;

void xi_timer_init(xi_timer *t, xi_timer_fn fn, void *ud);
static inline bool xi_timer_armed(const xi_timer *t)
{
    return t->index != SIZE_MAX;
}
/* Arms or moves t to fire at `when`. 0 or XMPPCORE_E_NOMEM. */
int xi_timer_set(xi_timers *ts, xi_timer *t, int64_t when);
void xi_timer_cancel(xi_timers *ts, xi_timer *t);
/* The earliest `when`, or INT64_MAX when none is armed. */
int64_t xi_timers_earliest(const xi_timers *ts);
/* Fires every timer due at now (each disarmed before its callback,
 * which may re-arm it). Returns the number fired. */
size_t xi_timers_run(xi_timers *ts, int64_t now);
void xi_timers_free(xi_timers *ts);

#endif
