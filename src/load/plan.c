/* plan — rooms, URLs and expected deliveries (see plan.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plan.h"
#include "wshub/xmalloc.h"

/* i mod R: rooms are dealt round-robin. */
uint32_t
plan_room(const struct plan *p, uint32_t conn)
{
	return conn % p->rooms;
}

/* (i mod R + i div R) mod U: round-robin, shifted at each pass. */
uint32_t
plan_url(const struct plan *p, uint32_t conn)
{
	return (uint32_t)(((uint64_t)(conn % p->rooms) + conn / p->rooms) %
	    p->urls);
}

/* Room sizes in closed form; URL sizes by dealing every connection. */
void
plan_spread(const struct plan *p, struct plan_spread *out)
{
	uint32_t n[PLAN_URLS_MAX] = { 0 };

	out->room_min = p->conns / p->rooms;
	out->room_max = out->room_min + (p->conns % p->rooms != 0);
	for (uint32_t i = 0; i < p->conns; i++)
		n[plan_url(p, i)]++;
	out->url_min = out->url_max = n[0];
	for (uint32_t u = 1; u < p->urls; u++) {
		out->url_min = n[u] < out->url_min ? n[u] : out->url_min;
		out->url_max = n[u] > out->url_max ? n[u] : out->url_max;
	}
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
