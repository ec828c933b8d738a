/* Timer heap; see timer.h. */
#include "core/timer.h"

void xi_timer_init(xi_timer *t, xi_timer_fn fn, void *ud)
{
    t->when = 0;
    t->index = SIZE_MAX;
    t->fn = fn;
    t->ud = ud;
}

static void place(xi_timers *ts, size_t i, xi_timer *t)
{
    ts->heap[i] = t;
    t->index = i;
}

static void sift_up(xi_timers *ts, size_t i)
{
    xi_timer *t = ts->heap[i];
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (ts->heap[p]->when <= t->when)
            break;
        place(ts, i, ts->heap[p]);
        i = p;
    }
    place(ts, i, t);
}

static void sift_down(xi_timers *ts, size_t i)
{
    xi_timer *t = ts->heap[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= ts->n)
            break;
        if (c + 1 < ts->n && ts->heap[c + 1]->when < ts->heap[c]->when)
            c++;
        if (t->when <= ts->heap[c]->when)
            break;
        place(ts, i, ts->heap[c]);
        i = c;
    }
    place(ts, i, t);
}

int xi_timer_set(xi_timers *ts, xi_timer *t, int64_t when)
{
    if (xi_timer_armed(t)) {
        int64_t old = t->when;
        t->when = when;
        if (when < old)
            sift_up(ts, t->index);
        else
            sift_down(ts, t->index);
        return 0;
    }
    if (ts->n == ts->cap) {
        size_t cap = ts->cap ? ts->cap * 2 : 64;
        xi_timer **h = xi_realloc(ts->mem, ts->heap, cap * sizeof *h);
        if (!h)
            return XMPPCORE_E_NOMEM;
        ts->heap = h;
        ts->cap = cap;
    }
    t->when = when;
    place(ts, ts->n++, t);
    sift_up(ts, t->index);
    return 0;
}

void xi_timer_cancel(xi_timers *ts, xi_timer *t)
{
    if (!xi_timer_armed(t))
        return;
    size_t i = t->index;
    t->index = SIZE_MAX;
    if (--ts->n == i)
        return;
    xi_timer *last = ts->heap[ts->n];
    place(ts, i, last);
    if (i > 0 && ts->heap[(i - 1) / 2]->when > last->when)
        sift_up(ts, i);
    else
        sift_down(ts, i);
}

int64_t xi_timers_earliest(const xi_timers *ts)
{
    return ts->n ? ts->heap[0]->when : INT64_MAX;
}

size_t xi_timers_run(xi_timers *ts, int64_t now)
{
    size_t fired = 0;
    /* Bounded: a callback re-arming for `now` waits for the next run. */
    size_t limit = ts->n;
    while (ts->n && ts->heap[0]->when <= now && fired < limit) {
        xi_timer *t = ts->heap[0];
        xi_timer_cancel(ts, t);
        fired++;
        t->fn(t, t->ud);
    }
    return fired;
}

void xi_timers_free(xi_timers *ts)
{
    for (size_t i = 0; i < ts->n; i++)
        ts->heap[i]->index = SIZE_MAX;
    xi_free(ts->mem, ts->heap);
    ts->heap = NULL;
    ts->n = ts->cap = 0;
}
