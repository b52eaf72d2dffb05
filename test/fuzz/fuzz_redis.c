/*
 * fuzz_redis — libFuzzer target for bridge_codec.c: what a hostile Redis
 * sends a hub, read as the bridge reads it.
 *
 * Input: a flags byte (bits 0-1: the limits: 0 the subscribe connection's,
 * 1 the publish connection's, 2-3 small ones (3 elements, 40-byte strings,
 * 100-byte replies) so every bound is reachable in a short input; bits
 * 2-4: k, the number of chunk-size bytes that follow), k chunk sizes (0:
 * the rest at once), then the bytes Redis sends.  The bytes arrive chunk
 * by chunk (sizes cycled, as recv(2) would hand them over); after each
 * one, every whole reply is parsed and dropped, as src/bridge.c:link_reply
 * does, until one is incomplete or refused (the bridge then closes the
 * connection: the run ends).
 *
 * Besides the sanitizers, it checks; a broken promise prints one line and
 * aborts:
 * - every parse is of an exact-size copy, so a read past the bytes given
 *   is an ASan report;
 * - a reply taken is at most the bytes given and max_reply; its arrays
 *   hold at most max_elements values and no array; its bulk strings are
 *   at most max_string, its lines at most LINE_MAX_BYTES; every pointer
 *   lies inside it;
 * - a reply taken re-encodes (a small RESP2 encoder here, not the codec's)
 *   to exactly its bytes, parses the same alone, and one byte short is
 *   BRIDGE_CODEC_INCOMPLETE;
 * - an incomplete reply has at most max_reply bytes so far;
 * - every error has a reason;
 * - a message a push carries has a valid room (1 to ROOM_NAME_MAX of A-Z
 *   a-z 0-9 . _ -) on channel PREFIX:ROOM, opcode 1 or 2, and re-encodes:
 *   bridge_codec_publish_head and its payload parse back (subscribe
 *   limits) to ["PUBLISH", that channel, the envelope byte for byte].
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wshub/bridge_codec.h"
#include "wshub/msg.h"

#define PREFIX "wshub"

static const struct bridge_reply_limits small_limits = {
	.max_elements = 3, .max_string = 40, .max_reply = 100,
};

/* Reports a broken invariant and aborts: libFuzzer saves the input. */
static void __attribute__((noreturn, format(printf, 1, 2)))
fail(const char *fmt, ...)
{
	va_list ap;

	fputs("fuzz_redis: invariant broken: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

/* The codec on an exact-size copy of s[0..len). */
static ssize_t
parse_copy(const char *s, size_t len, const struct bridge_reply_limits *lim,
    struct bridge_reply *r, char **copy)
{
	*copy = malloc(len ? len : 1);
	memcpy(*copy, s, len);
	return bridge_codec_parse(*copy, len, lim, r);
}

/* The model: RESP2 as Redis writes it, one value into out; its length. */
static size_t
encode_value(char *out, const struct bridge_value *v)
{
	size_t n;

	if (v->type == ':')
		return (size_t)sprintf(out, ":%lld\r\n", v->integer);
	if (v->nil)
		return (size_t)sprintf(out, "%c-1\r\n", v->type);
	if (v->type == '*')
		return (size_t)sprintf(out, "*%zu\r\n", v->len);
	if (v->type == '$')
		n = (size_t)sprintf(out, "$%zu\r\n", v->len);
	else if (v->type == '+' || v->type == '-')
		n = (size_t)sprintf(out, "%c", v->type);
	else
		fail("a value of type 0x%02x taken", (unsigned char)v->type);
	memcpy(out + n, v->str, v->len);
	memcpy(out + n + v->len, "\r\n", 2);
	return n + v->len + 2;
}

/* One value of a reply of len bytes at s keeps the limits and lies in it. */
static void
check_value(const struct bridge_value *v, bool inside, const char *s,
    size_t len, const struct bridge_reply_limits *lim)
{
	if (v->type == '*' && inside)
		fail("an array inside an array taken");
	if (v->type == '*' && !v->nil && v->len > (size_t)lim->max_elements)
		fail("an array of %zu elements taken (at most %d)", v->len,
		    lim->max_elements);
	if (v->type == '$' && !v->nil && v->len > lim->max_string)
		fail("a string of %zu bytes taken (at most %zu)", v->len,
		    lim->max_string);
	if ((v->type == '+' || v->type == '-') && v->len > LINE_MAX_BYTES)
		fail("a line of %zu bytes taken", v->len);
	if ((v->type == '+' || v->type == '-' || (v->type == '$' && !v->nil)) &&
	    (v->str < s || v->str + v->len > s + len))
		fail("a value outside its reply");
}

/* A reply of n bytes at s, taken: the limits, the model, the edges. */
static void
check_reply(const char *s, size_t n, const struct bridge_reply *r,
    const struct bridge_reply_limits *lim)
{
	char *model = malloc(n + 64), *copy;
	struct bridge_reply again;
	size_t m;

	if (n > lim->max_reply)
		fail("a reply of %zu bytes taken (at most %zu)", n, lim->max_reply);
	check_value(&r->top, false, s, n, lim);
	m = encode_value(model, &r->top);
	for (size_t i = 0; r->top.type == '*' && i < r->top.len; i++) {
		check_value(&r->element[i], true, s, n, lim);
		if (m + r->element[i].len + 32 > n + 64)
			fail("the model outgrew the reply");
		m += encode_value(model + m, &r->element[i]);
	}
	if (m != n || memcmp(model, s, n) != 0)
		fail("a reply of %zu bytes re-encodes to %zu other bytes", n, m);
	free(model);
	if (parse_copy(s, n, lim, &again, &copy) != (ssize_t)n)
		fail("a reply does not parse the same alone");
	free(copy);
	if (parse_copy(s, n - 1, lim, &again, &copy) != BRIDGE_CODEC_INCOMPLETE)
		fail("a reply one byte short is not incomplete");
	free(copy);
}

static bool
room_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

/* A message a push carries, re-encoded as a PUBLISH and parsed back. */
static void
check_message(const struct bridge_reply *r, const struct bridge_message *m)
{
	const struct bridge_value *env = &r->element[2];
	char head[PUB_HEAD_MAX], channel[CHANNEL_MAX], *wire, *copy;
	size_t rlen = strlen(m->room), n, clen;
	struct bridge_reply back;

	if (rlen == 0 || rlen > ROOM_NAME_MAX)
		fail("a room of %zu bytes", rlen);
	for (size_t i = 0; i < rlen; i++)
		if (!room_char(m->room[i]))
			fail("a room with byte 0x%02x", (unsigned char)m->room[i]);
	clen = bridge_codec_channel(channel, PREFIX, m->room);
	if (r->element[1].len != clen ||
	    memcmp(r->element[1].str, channel, clen) != 0)
		fail("room %s is not its channel's", m->room);
	if (m->opcode != MSG_TEXT && m->opcode != MSG_BINARY)
		fail("opcode %d", m->opcode);
	n = bridge_codec_publish_head(head, PREFIX, m->room, m->hub_id,
	    m->opcode, m->len);
	wire = malloc(n + m->len + 2);
	memcpy(wire, head, n);
	memcpy(wire + n, m->payload, m->len);
	memcpy(wire + n + m->len, "\r\n", 2);
	if (parse_copy(wire, n + m->len + 2, &bridge_subscribe_limits, &back,
	    &copy) != (ssize_t)(n + m->len + 2) || back.top.len != 3 ||
	    back.element[1].len != clen ||
	    memcmp(back.element[1].str, channel, clen) != 0 ||
	    back.element[2].len != env->len ||
	    memcmp(back.element[2].str, env->str, env->len) != 0)
		fail("a message does not re-encode to its envelope");
	free(copy);
	free(wire);
}

/* Parses and drops every whole reply in s[0..len); the bytes taken, or
 * -1 once one is refused. */
static ssize_t
take_replies(const char *s, size_t len, const struct bridge_reply_limits *lim)
{
	size_t start = 0;

	for (;;) {
		struct bridge_reply r;
		struct bridge_message m;
		char *copy, why[160];
		ssize_t n = parse_copy(s + start, len - start, lim, &r, &copy);

		if (n == BRIDGE_CODEC_INCOMPLETE && len - start > lim->max_reply)
			fail("%zu bytes of a reply still coming (at most %zu)",
			    len - start, lim->max_reply);
		if (n < 0 && n != BRIDGE_CODEC_INCOMPLETE &&
		    bridge_codec_reason(n, &r, lim, why, sizeof(why))[0] == '\0')
			fail("error %zd without a reason", n);
		if (n > 0) {
			check_reply(copy, (size_t)n, &r, lim);
			if (bridge_codec_message(&r, PREFIX, &m) == 0)
				check_message(&r, &m);
		}
		free(copy);
		if (n <= 0)
			return n == BRIDGE_CODEC_INCOMPLETE ? (ssize_t)start : -1;
		start += (size_t)n;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct bridge_reply_limits *limits[4] = {
		&bridge_subscribe_limits, &bridge_publish_limits,
		&small_limits, &small_limits,
	};
	const struct bridge_reply_limits *lim;
	const uint8_t *sizes;
	size_t k, fed = 0, start = 0;

	if (size < 1)
		return 0;
	lim = limits[data[0] & 3];
	k = (size_t)(data[0] >> 2) & 7;
	if (size < 1 + k)
		return 0;
	sizes = data + 1;
	data += 1 + k;
	size -= 1 + k;
	for (size_t i = 0; fed < size; i++) {
		size_t chunk = k == 0 || sizes[i % k] == 0 ? size - fed :
		    sizes[i % k];
		ssize_t taken;

		fed += chunk < size - fed ? chunk : size - fed;
		taken = take_replies((const char *)data + start, fed - start, lim);
		if (taken < 0)
			break;
		start += (size_t)taken;
	}
	return 0;
}
