/* plan — rooms, URLs and expected deliveries (see plan.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plan.h"
#include "wshub/flagval.h"
#include "wshub/xmalloc.h"

/* --room-sizes as given, or --rooms' even layout: q + 1 and q. */
uint32_t
plan_layout(const struct plan *p, struct plan_size out[PLAN_SIZES_MAX])
{
	uint32_t q = p->conns / p->rooms, r = p->conns % p->rooms;

	if (p->nsizes > 0) {
		memcpy(out, p->sizes, p->nsizes * sizeof(*out));
		return p->nsizes;
	}
	if (r == 0) {
		out[0] = (struct plan_size){ q, p->rooms };
		return 1;
	}
	out[0] = (struct plan_size){ q + 1, r };
	out[1] = (struct plan_size){ q, p->rooms - r };
	return 2;
}

/*
 * The room and pass of connection `conn` (plan.h).  Passes below the
 * smallest size take every room; the passes up to the next size take
 * every room but the smallest ones; and so on, each phase of the deal
 * holding a prefix of the rooms, since they are numbered largest first.
 */
static void
place(const struct plan *p, uint32_t conn, uint32_t *room, uint32_t *pass)
{
	struct plan_size g[PLAN_SIZES_MAX];
	uint32_t n = plan_layout(p, g), nrooms = p->rooms, below = 0;
	uint64_t i = conn;

	for (uint32_t k = n; k-- > 0;) {
		uint64_t span = (uint64_t)nrooms * (g[k].size - below);

		if (i < span) {
			*room = (uint32_t)(i % nrooms);
			*pass = below + (uint32_t)(i / nrooms);
			return;
		}
		i -= span;
		below = g[k].size;
		nrooms -= g[k].rooms;
	}
	*room = *pass = 0;  /* conn >= conns: no such connection */
}

/* The room of the pass that dealt it. */
uint32_t
plan_room(const struct plan *p, uint32_t conn)
{
	uint32_t room, pass;

	place(p, conn, &room, &pass);
	return room;
}

/* (room + pass) mod U: round-robin, shifted at each pass. */
uint32_t
plan_url(const struct plan *p, uint32_t conn)
{
	uint32_t room, pass;

	place(p, conn, &room, &pass);
	return (uint32_t)(((uint64_t)room + pass) % p->urls);
}

/* Rooms are numbered largest first: walk the sizes. */
uint32_t
plan_size_of(const struct plan *p, uint32_t room)
{
	struct plan_size g[PLAN_SIZES_MAX];
	uint32_t n = plan_layout(p, g);

	for (uint32_t k = 0; k < n; k++) {
		if (room < g[k].rooms)
			return k;
		room -= g[k].rooms;
	}
	return n - 1;
}

/* Room sizes from the layout; URL sizes by dealing every connection. */
void
plan_spread(const struct plan *p, struct plan_spread *out)
{
	uint32_t n[PLAN_URLS_MAX] = { 0 };
	struct plan_size g[PLAN_SIZES_MAX];
	uint32_t ng = plan_layout(p, g);

	out->room_max = g[0].size;
	out->room_min = g[ng - 1].size;
	for (uint32_t i = 0; i < p->conns; i++)
		n[plan_url(p, i)]++;
	out->url_min = out->url_max = n[0];
	for (uint32_t u = 1; u < p->urls; u++) {
		out->url_min = n[u] < out->url_min ? n[u] : out->url_min;
		out->url_max = n[u] > out->url_max ? n[u] : out->url_max;
	}
}

/* The number in [s, s + len), 1 .. max, into *v. */
static int
number_parse(const char *s, size_t len, uint32_t max, uint32_t *v)
{
	char num[24];
	long long n;
	int rc;

	if (len == 0 || len >= sizeof(num))
		return PLAN_SIZES_SYNTAX;
	memcpy(num, s, len);
	num[len] = '\0';
	rc = flagval_int(num, 1, max, &n);
	if (rc == FLAGVAL_TOO_SMALL || rc == FLAGVAL_TOO_LARGE)
		return PLAN_SIZES_RANGE;
	if (rc != FLAGVAL_OK)
		return PLAN_SIZES_SYNTAX;
	*v = (uint32_t)n;
	return PLAN_SIZES_OK;
}

/* One "SIZExCOUNT" of [s, end) into `out`. */
static int
size_parse(const char *s, const char *end, uint32_t max,
    struct plan_size *out)
{
	const char *x = memchr(s, 'x', (size_t)(end - s));
	int rc;

	if (x == NULL)
		return PLAN_SIZES_SYNTAX;
	if ((rc = number_parse(s, (size_t)(x - s), max, &out->size)) < 0)
		return rc;
	return number_parse(x + 1, (size_t)(end - x - 1), max, &out->rooms);
}

/* Sorts p->sizes largest first; a size given twice is an error. */
static int
sizes_sort(struct plan *p)
{
	for (uint32_t i = 1; i < p->nsizes; i++)
		for (uint32_t j = i; j > 0 &&
		    p->sizes[j].size >= p->sizes[j - 1].size; j--) {
			struct plan_size t = p->sizes[j];

			if (t.size == p->sizes[j - 1].size)
				return PLAN_SIZES_REPEATED;
			p->sizes[j] = p->sizes[j - 1];
			p->sizes[j - 1] = t;
		}
	return PLAN_SIZES_OK;
}

/* Comma-separated SIZExCOUNT, then sorted and totalled. */
int
plan_sizes_parse(struct plan *p, const char *text, uint32_t max)
{
	uint64_t conns = 0, rooms = 0;
	const char *s = text;
	int rc;

	p->nsizes = 0;
	for (;;) {
		const char *end = s + strcspn(s, ",");

		if (p->nsizes == PLAN_SIZES_MAX)
			return PLAN_SIZES_TOO_MANY;
		if ((rc = size_parse(s, end, max, &p->sizes[p->nsizes])) < 0)
			return rc;
		conns += (uint64_t)p->sizes[p->nsizes].size *
		    p->sizes[p->nsizes].rooms;
		rooms += p->sizes[p->nsizes++].rooms;
		if (*end == '\0')
			break;
		s = end + 1;
	}
	if (conns > max)
		return PLAN_SIZES_TOTAL;
	p->conns = (uint32_t)conns;
	p->rooms = (uint32_t)rooms;
	return sizes_sort(p);
}

static const char *const sizes_errors[] = {
	[-PLAN_SIZES_OK] = "ok",
	[-PLAN_SIZES_SYNTAX] = "not SIZExCOUNT",
	[-PLAN_SIZES_RANGE] = "a SIZE or COUNT out of range",
	[-PLAN_SIZES_TOO_MANY] = "too many sizes",
	[-PLAN_SIZES_REPEATED] = "a SIZE given twice",
	[-PLAN_SIZES_TOTAL] = "too many connections in all",
};

/* Error code -> a few words. */
const char *
plan_sizes_strerror(int err)
{
	return err <= 0 && -err < (int)(sizeof(sizes_errors) /
	    sizeof(sizes_errors[0])) ? sizes_errors[-err] : "?";
}

/* --room or --rooms was given. */
bool
plan_names_rooms(const struct plan *p)
{
	return p->room != NULL || p->numbered;
}

/* NAME, NAME-k or rk. */
int
plan_room_name(const struct plan *p, uint32_t room,
    char out[PLAN_ROOM_NAME_MAX + 1])
{
	int n;

	if (!p->numbered)
		n = snprintf(out, PLAN_ROOM_NAME_MAX + 1, "%s", p->room);
	else if (p->room != NULL)
		n = snprintf(out, PLAN_ROOM_NAME_MAX + 1, "%s-%u", p->room,
		    room);
	else
		n = snprintf(out, PLAN_ROOM_NAME_MAX + 1, "r%u", room);
	return n < 0 || n > PLAN_ROOM_NAME_MAX ? -1 : n;
}

/* /ws/NAME */
void
plan_room_path(const struct plan *p, uint32_t room, char out[PLAN_PATH_MAX])
{
	memcpy(out, "/ws/", 4);
	plan_room_name(p, room, out + 4);
}

/* The server's rule (src/handshake.c:handshake_room), for the flag. */
bool
plan_room_name_ok(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > PLAN_ROOM_NAME_MAX)
		return false;
	return strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789._-") == len;
}

/* One zeroed counter per cell. */
void
plan_open_init(struct plan_open *o, const struct plan *p)
{
	atomic_init(&o->total, 0);
	o->cell = xcalloc((size_t)p->rooms * p->urls, sizeof(*o->cell));
}

/* Frees the cells. */
void
plan_open_free(struct plan_open *o)
{
	free(o->cell);
	o->cell = NULL;
}

/* Index of connection `conn`'s cell. */
static size_t
cell_of(const struct plan *p, uint32_t conn)
{
	return (size_t)plan_room(p, conn) * p->urls + plan_url(p, conn);
}

/* Adds `delta` to the connection's cell and to the total. */
void
plan_open_add(struct plan_open *o, const struct plan *p, uint32_t conn,
    int delta)
{
	atomic_fetch_add_explicit(&o->total, delta, memory_order_relaxed);
	atomic_fetch_add_explicit(&o->cell[cell_of(p, conn)], (unsigned)delta,
	    memory_order_relaxed);
}

/* Sums the sender's room over the URLs, its own URL apart. */
struct plan_expect
plan_expected(struct plan_open *o, const struct plan *p, uint32_t sender)
{
	struct plan_expect e = { 0, 0 };
	atomic_uint *row = &o->cell[(size_t)plan_room(p, sender) * p->urls];
	uint32_t own = plan_url(p, sender);

	for (uint32_t u = 0; u < p->urls; u++) {
		uint64_t n = atomic_load_explicit(&row[u],
		    memory_order_relaxed);

		if (u == own)
			e.same_url = n;
		else
			e.other_url += n;
	}
	return e;
}

/* Same room?  Then same URL? */
enum plan_route
plan_route(const struct plan *p, uint32_t sender, uint32_t receiver)
{
	if (plan_room(p, sender) != plan_room(p, receiver))
		return PLAN_OTHER_ROOM;
	return plan_url(p, sender) == plan_url(p, receiver) ? PLAN_SAME_URL :
	    PLAN_OTHER_URL;
}
