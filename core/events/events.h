/* Events: what docker's GET /events streams.  Every action is one JSON
 * message in docker's shape (status/id/from for containers and images,
 * Type, Action, Actor{ID, Attributes}, scope, time, timeNano).  The last
 * EV_RING are kept in memory for `since`, and appended to a file under the
 * data root so that `--since 10m` still answers after a restart.  Each
 * subscriber has a bounded queue: one that falls behind is dropped (its
 * stream ends, berthd logs a warning), never waited for. */
#ifndef BERTH_EVENTS_H
#define BERTH_EVENTS_H

#include <jansson.h>
#include <stdint.h>

#include "../util/util.h"

#define EV_RING 1024  /* events kept for since= */
#define EV_QUEUE 1024 /* events a subscriber may be behind before it is dropped */

/* Load the persisted tail (a torn last line is skipped) and compact it. */
int ev_init(const char *data_root, struct berth_err *err);
/* Wake and end every subscriber; emits nothing more. */
void ev_shutdown(void);

/* Record and publish one event.  attrs (stolen, may be NULL) are the
 * Actor's Attributes, strings only. */
void ev_emit(const char *type, const char *action, const char *id, json_t *attrs);

/* The calling thread's events from ev_hold() on are kept back, not told,
 * until ev_unhold() hands them over; ev_tell_held() tells them (in their
 * order, with the time it is told) and frees them.  A container's exit
 * releases its network and volumes before it tells "die" (a network rm
 * that follows finds the endpoint gone) and tells them after it, in
 * dockerd's order: die, network disconnect, volume unmount. */
void ev_hold(void);
json_t *ev_unhold(void);
void ev_tell_held(json_t *kept);

/* Docker's event filters (util/filters.h): type, event, container, image,
 * label, network, volume, daemon, scope. */
struct filters;
bool ev_match(const struct filters *f, const json_t *ev);

struct ev_sub;
/* A subscription that first replays the kept events with since_ns <= time
 * (none when since_ns < 0), then the live ones. */
struct ev_sub *ev_subscribe(int64_t since_ns);
/* The next event (a new reference) in *out: 1; 0 when none came within
 * timeout_ms; -1 when the subscriber was dropped or berthd is stopping. */
int ev_next(struct ev_sub *s, int timeout_ms, json_t **out);
void ev_unsubscribe(struct ev_sub *s);
/* How many subscriptions there are (info's NEventsListener). */
size_t ev_listeners(void);

#endif
