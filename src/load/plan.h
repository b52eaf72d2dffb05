/*
 * plan — which room and which URL each connection of wshub-load gets, and
 * how many deliveries each message should make.
 *
 * Connection i (0 <= i < conns) joins room i mod R and connects to URL
 * (i mod R + i div R) mod U.  Rooms are dealt round-robin; URLs are dealt
 * round-robin too, shifted by one at every pass over the rooms.  So the
 * first R connections (one per room) alternate URLs, and every room has
 * connections on every URL once conns >= R x U.  (Plain i mod U would not
 * do: with R = U = 2, room 0 would be all on URL 0 and no message would
 * ever cross from one URL to another.)  Senders are connections 0 .. s-1,
 * so they are dealt the same way: s >= R gives every room a sender.
 *
 * A message from connection k is expected at every OPEN connection of k's
 * room, whatever its URL, k's own echo included: hubs joined through Redis
 * deliver a room's message on all of them.  A delivery is "same URL" when
 * the receiver uses the sender's URL and "other URL" when not; with one
 * hub per URL, that is same hub and cross hub.
 *
 * The open counters are the only shared state: one atomic counter per
 * (room, URL) cell, raised by the loop thread that opens a connection,
 * lowered by the one that drops it, read by every sending loop (relaxed:
 * a count a few microseconds old is as good as the sending moment is
 * exact).  Everything else here is arithmetic on a struct plan, which
 * opts_parse fills and nothing changes afterwards.
 */
#ifndef WSHUB_LOAD_PLAN_H
#define WSHUB_LOAD_PLAN_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PLAN_URLS_MAX 16       /* several hubs, not a fleet */
#define PLAN_ROOM_NAME_MAX 64  /* wshub's ROOM_NAME_MAX: 1-64 bytes */
#define PLAN_PATH_MAX (sizeof("/ws/") + PLAN_ROOM_NAME_MAX)

struct plan {
	uint32_t conns;                /* -c, >= 1 */
	uint32_t rooms;                /* R: --rooms, or 1; 1 .. conns */
	uint32_t urls;                 /* U: URLs given; 1 .. conns */
	const char *room;              /* --room NAME, or NULL */
	bool numbered;                 /* --rooms given: names end in k */
};

/* Where a delivery went, seen from its sender. */
enum plan_route {
	PLAN_SAME_URL,                 /* the sender's room, the sender's URL */
	PLAN_OTHER_URL,                /* the sender's room, another URL */
	PLAN_OTHER_ROOM,               /* not the sender's room: misrouted */
};

/* Deliveries one message should make, split by the receiver's URL. */
struct plan_expect {
	uint64_t same_url;
	uint64_t other_url;
};

/* Fewest and most connections the plan puts in one room, on one URL. */
struct plan_spread {
	uint32_t room_min, room_max;
	uint32_t url_min, url_max;
};

/*
 * Open connections by cell (room r, URL u: cell r * U + u) and in all.
 * Any thread, lock-free.
 */
struct plan_open {
	atomic_long total;
	atomic_uint *cell;             /* rooms x urls, xcalloc'd */
};

/* Room and URL index of connection `conn`. */
uint32_t plan_room(const struct plan *p, uint32_t conn);
uint32_t plan_url(const struct plan *p, uint32_t conn);

/* How the plan spreads p->conns connections over rooms and URLs. */
void plan_spread(const struct plan *p, struct plan_spread *out);

/* Whether --room or --rooms named the rooms (else the URL's path does). */
bool plan_names_rooms(const struct plan *p);

/*
 * Writes room `room`'s name into `out`: "NAME" for --room NAME alone,
 * "NAME-k" with --rooms too, "rk" for --rooms alone.  Returns its length,
 * or -1 if longer than PLAN_ROOM_NAME_MAX (then `out` is unspecified).
 * Only for plan_names_rooms(p).
 */
int plan_room_name(const struct plan *p, uint32_t room,
    char out[PLAN_ROOM_NAME_MAX + 1]);

/* "/ws/" and the room's name: the request target of its connections. */
void plan_room_path(const struct plan *p, uint32_t room,
    char out[PLAN_PATH_MAX]);

/* True if `name` is a room name wshub accepts: 1-64 of A-Z a-z 0-9 . _ - */
bool plan_room_name_ok(const char *name);

/* All counters at 0.  Aborts if out of memory.  Main thread. */
void plan_open_init(struct plan_open *o, const struct plan *p);

/* Frees the counters.  Main thread, after every loop has exited. */
void plan_open_free(struct plan_open *o);

/* Connection `conn` opened (delta 1) or was dropped (-1).  Any thread. */
void plan_open_add(struct plan_open *o, const struct plan *p, uint32_t conn,
    int delta);

/*
 * The deliveries a message sent now by connection `sender` should make:
 * the open connections of its room, on its URL and on the others.
 * Any thread.
 */
struct plan_expect plan_expected(struct plan_open *o, const struct plan *p,
    uint32_t sender);

/* Where a message from `sender` to `receiver` went. */
enum plan_route plan_route(const struct plan *p, uint32_t sender,
    uint32_t receiver);

#endif
