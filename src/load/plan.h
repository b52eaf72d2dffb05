/*
 * plan — which room and which URL each connection of wshub-load gets, and
 * how many deliveries each message should make.
 *
 * The layout: R rooms in at most PLAN_SIZES_MAX sizes, largest first.
 * --rooms K alone is the even layout (conns div K in each room, one more
 * in the first conns mod K rooms); --room-sizes gives the sizes.  Rooms
 * are numbered largest first, so the rooms of one size are consecutive.
 *
 * Connections are dealt round-robin over the rooms that are not yet full:
 * pass j (0, 1, ...) gives one connection to each room larger than j, in
 * room order.  Connection i joins that room, and connects to URL
 * (room + j) mod U: URLs are dealt round-robin too, shifted by one at
 * every pass.  In the even layout this is room i mod R, URL
 * (i mod R + i div R) mod U.  So the first R connections (one per room)
 * alternate URLs, and every room has connections on every URL once it
 * holds U of them.  (Plain i mod U would not do: with R = U = 2, room 0
 * would be all on URL 0 and no message would ever cross from one URL to
 * another.)  Senders are connections 0 .. s-1, so they are dealt the same
 * way: s >= R gives every room a sender, connection k being room k's.
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
#define PLAN_SIZES_MAX 4       /* room sizes in one run: a few, not a curve */

/* `rooms` rooms of `size` connections each. */
struct plan_size {
	uint32_t size;
	uint32_t rooms;
};

struct plan {
	uint32_t conns;                /* -c, >= 1 */
	uint32_t rooms;                /* R: --rooms, or 1; 1 .. conns */
	uint32_t urls;                 /* U: URLs given; 1 .. conns */
	const char *room;              /* --room NAME, or NULL */
	bool numbered;                 /* --rooms given: names end in k */
	uint32_t nsizes;               /* --room-sizes: 1 .. PLAN_SIZES_MAX;
	                                  0 = the even layout of `rooms` */
	struct plan_size sizes[PLAN_SIZES_MAX]; /* largest first, sizes
	                                  distinct; their rooms sum to R and
	                                  size x rooms to conns */
};

/* Why plan_sizes_parse refused its text. */
enum plan_sizes_err {
	PLAN_SIZES_OK = 0,
	PLAN_SIZES_SYNTAX = -1,        /* not SIZExCOUNT[,SIZExCOUNT...] */
	PLAN_SIZES_RANGE = -2,         /* a SIZE or COUNT outside 1 .. max */
	PLAN_SIZES_TOO_MANY = -3,      /* more than PLAN_SIZES_MAX sizes */
	PLAN_SIZES_REPEATED = -4,      /* one SIZE given twice */
	PLAN_SIZES_TOTAL = -5,         /* more than `max` connections in all */
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

/*
 * Parses --room-sizes: "SIZExCOUNT[,SIZExCOUNT...]", COUNT rooms of SIZE
 * connections each, SIZE and COUNT from 1 to `max`, at most `max`
 * connections in all.  On success fills p->sizes (sorted largest first),
 * p->nsizes, p->rooms and p->conns and returns PLAN_SIZES_OK; else returns
 * a negative enum plan_sizes_err and leaves `p` unspecified.
 */
int plan_sizes_parse(struct plan *p, const char *text, uint32_t max);

/* What a plan_sizes_parse error means, for the flag's message. */
const char *plan_sizes_strerror(int err);

/*
 * The layout: fills `out` with the plan's sizes, largest first (the even
 * layout's two, the first of which may have no rooms, when nsizes is 0)
 * and returns how many.
 */
uint32_t plan_layout(const struct plan *p,
    struct plan_size out[PLAN_SIZES_MAX]);

/* Room and URL index of connection `conn`. */
uint32_t plan_room(const struct plan *p, uint32_t conn);
uint32_t plan_url(const struct plan *p, uint32_t conn);

/* Index in plan_layout of the size of room `room`. */
uint32_t plan_size_of(const struct plan *p, uint32_t room);

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
