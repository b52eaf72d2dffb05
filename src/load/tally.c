/* tally — per-thread counters and their merging (see tally.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "tally.h"

static const char *const err_names[LERR_COUNT] = {
	[LERR_CONNECT] = "connect",
	[LERR_TLS] = "tls",
	[LERR_HANDSHAKE] = "handshake",
	[LERR_TIMEOUT] = "timeout",
	[LERR_IO] = "io",
	[LERR_PROTOCOL] = "protocol",
	[LERR_PAYLOAD] = "payload",
};

/* Zero counts, empty handshake histogram. */
void
stats_conn_init(struct conn_stats *s)
{
	memset(s, 0, sizeof(*s));
	hist_init(&s->handshake);
}

/* Zero counts for round `round`, empty latency histogram. */
void
stats_round_init(struct round_stats *s, uint32_t round)
{
	memset(s, 0, sizeof(*s));
	s->round = round;
	hist_init(&s->latency);
	hist_init(&s->latency_same);
	hist_init(&s->latency_other);
	for (int k = 0; k < PLAN_SIZES_MAX; k++)
		hist_init(&s->by_size[k].latency);
}

/* One more message, and the deliveries it is due. */
void
stats_round_sent(struct round_stats *s, uint32_t size, uint64_t same_url,
    uint64_t other_url)
{
	s->sent++;
	s->expected += same_url + other_url;
	s->expected_other += other_url;
	s->by_size[size].expected += same_url + other_url;
}

/* One more delivery, in the total, its URL's share and its size's. */
void
stats_round_delivered(struct round_stats *s, uint32_t size, bool other_url,
    uint64_t latency_ns, int64_t now_ns)
{
	s->received++;
	hist_record(&s->latency, latency_ns);
	s->by_size[size].received++;
	hist_record(&s->by_size[size].latency, latency_ns);
	if (other_url) {
		s->received_other++;
		hist_record(&s->latency_other, latency_ns);
	} else
		hist_record(&s->latency_same, latency_ns);
	s->last_recv_ns = now_ns;
}

/* Adds n closes with `code` to the table, or to closes_other if full. */
static void
close_add_n(struct conn_stats *s, uint16_t code, uint64_t n)
{
	for (int i = 0; i < CLOSE_CODES_MAX; i++) {
		if (s->closes[i].n == 0)
			s->closes[i].code = code;
		if (s->closes[i].code == code) {
			s->closes[i].n += n;
			return;
		}
	}
	s->closes_other += n;
}

/* One more connection closed by the server. */
void
stats_close_add(struct conn_stats *s, uint16_t code)
{
	s->closed_by_server++;
	close_add_n(s, code, 1);
}

/* One more error of `kind`. */
void
stats_err_add(struct conn_stats *s, enum load_err kind, int err)
{
	s->err[kind]++;
	if (err != 0)
		s->err_errno[kind] = err;
	if (kind == LERR_CONNECT && err == EADDRNOTAVAIL)
		s->no_port++;
}

/* The last refusal wins, status and reason together. */
void
stats_refusal_set(struct conn_stats *s, int status, const char *reason)
{
	s->http_status = status;
	snprintf(s->http_reason, sizeof(s->http_reason), "%s", reason);
}

/* Sums counts, merges close codes and histograms. */
void
stats_conn_merge(struct conn_stats *dst, const struct conn_stats *src)
{
	dst->attempted += src->attempted;
	dst->ok += src->ok;
	dst->failed += src->failed;
	dst->closed_by_server += src->closed_by_server;
	for (int i = 0; i < CLOSE_CODES_MAX && src->closes[i].n > 0; i++)
		close_add_n(dst, src->closes[i].code, src->closes[i].n);
	dst->closes_other += src->closes_other;
	dst->no_port += src->no_port;
	for (int k = 0; k < LERR_COUNT; k++) {
		dst->err[k] += src->err[k];
		if (src->err_errno[k] != 0)
			dst->err_errno[k] = src->err_errno[k];
	}
	if (src->err_errno[LERR_TLS] != 0)
		dst->tls_status = src->tls_status;
	if (src->http_status != 0)
		stats_refusal_set(dst, src->http_status, src->http_reason);
	dst->joined += src->joined;
	if (src->last_open_ns > dst->last_open_ns)
		dst->last_open_ns = src->last_open_ns;
	hist_merge(&dst->handshake, &src->handshake);
}

/* Sums counts, keeps the latest delivery time. */
void
stats_round_merge(struct round_stats *dst, const struct round_stats *src)
{
	dst->sent += src->sent;
	dst->expected += src->expected;
	dst->expected_other += src->expected_other;
	dst->received += src->received;
	dst->received_other += src->received_other;
	dst->wrong_room += src->wrong_room;
	dst->stale += src->stale;
	dst->frames += src->frames;
	dst->skipped += src->skipped;
	if (src->last_recv_ns > dst->last_recv_ns)
		dst->last_recv_ns = src->last_recv_ns;
	hist_merge(&dst->latency, &src->latency);
	hist_merge(&dst->latency_same, &src->latency_same);
	hist_merge(&dst->latency_other, &src->latency_other);
	for (int k = 0; k < PLAN_SIZES_MAX; k++) {
		dst->by_size[k].expected += src->by_size[k].expected;
		dst->by_size[k].received += src->by_size[k].received;
		hist_merge(&dst->by_size[k].latency, &src->by_size[k].latency);
	}
}

/* Error kind -> report name. */
const char *
stats_err_name(enum load_err kind)
{
	return kind < LERR_COUNT ? err_names[kind] : "?";
}
