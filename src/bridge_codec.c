/* bridge_codec — RESP2 replies, pushes and PUBLISH (see bridge_codec.h). */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "wshub/bridge_codec.h"
#include "wshub/msg.h"

const struct bridge_reply_limits bridge_subscribe_limits = {
	.max_elements = PUSH_ELEMENTS, .max_string = ENVELOPE_MAX,
	.max_reply = PUSH_MAX,
};

const struct bridge_reply_limits bridge_publish_limits = {
	.max_elements = 0, .max_string = LINE_MAX_BYTES,
	.max_reply = LINE_MAX_BYTES + 64,
};

/*
 * The line after the type byte at buf[*pos]: its bytes in *line, *n of
 * them; *pos past its "\r\n".  A line is at most LINE_MAX_BYTES, so only
 * that much (and its end) is looked at.
 */
static int
take_line(const char *buf, size_t len, size_t *pos, const char **line,
    size_t *n)
{
	size_t avail = len - *pos - 1;
	size_t look = avail < LINE_MAX_BYTES + 2 ? avail : LINE_MAX_BYTES + 2;
	const char *eol = memmem(buf + *pos + 1, look, "\r\n", 2);

	if (eol == NULL)
		return look == LINE_MAX_BYTES + 2 ? BRIDGE_CODEC_LINE_TOO_LONG :
		    BRIDGE_CODEC_INCOMPLETE;
	*line = buf + *pos + 1;
	*n = (size_t)(eol - *line);
	*pos += 1 + *n + 2;
	return 0;
}

/* A number as Redis writes one: 0, or an optional '-' and digits without
 * a leading 0, in a long long.  False if s[0..n) is not one. */
static bool
canonical_number(const char *s, size_t n, long long *v)
{
	bool neg = n > 0 && s[0] == '-';
	size_t i = neg ? 1 : 0;
	unsigned long long u = 0, max = neg ? (unsigned long long)LLONG_MAX + 1 :
	    LLONG_MAX;

	if (i == n || (s[i] == '0' && (neg || n > 1)))
		return false;
	for (; i < n; i++) {
		if (s[i] < '0' || s[i] > '9' ||
		    u > (max - (unsigned)(s[i] - '0')) / 10)
			return false;
		u = u * 10 + (unsigned)(s[i] - '0');
	}
	*v = neg ? (long long)(0 - u) : (long long)u;
	return true;
}

/* A bulk string whose length line said `n`: its bytes, then "\r\n". */
static int
take_bulk(const char *buf, size_t len, size_t *pos, long long n,
    const struct bridge_reply_limits *lim, struct bridge_value *v,
    long long *refused)
{
	if (n < -1)
		return BRIDGE_CODEC_PROTOCOL;
	v->nil = n == -1;
	if (v->nil)
		return 0;
	if ((unsigned long long)n > lim->max_string) {
		*refused = n;
		return BRIDGE_CODEC_STRING_TOO_LONG;
	}
	if (len - *pos < (size_t)n + 2)
		return BRIDGE_CODEC_INCOMPLETE;
	if (memcmp(buf + *pos + n, "\r\n", 2) != 0)
		return BRIDGE_CODEC_PROTOCOL;
	v->str = buf + *pos;
	v->len = (size_t)n;
	*pos += (size_t)n + 2;
	return 0;
}

/* An array's header, its count `n`, within the limit. */
static int
take_array(long long n, const struct bridge_reply_limits *lim,
    struct bridge_value *v, long long *refused)
{
	if (n < -1)
		return BRIDGE_CODEC_PROTOCOL;
	v->nil = n == -1;
	if (n > lim->max_elements) {
		*refused = n;
		return BRIDGE_CODEC_ARRAY_TOO_LONG;
	}
	v->len = v->nil ? 0 : (size_t)n;
	return 0;
}

/* One value at buf[*pos] (`inside` an array or not) into *v; *pos past
 * it.  0 or an enum bridge_codec_error. */
static int
take_value(const char *buf, size_t len, size_t *pos,
    const struct bridge_reply_limits *lim, bool inside,
    struct bridge_value *v, long long *refused)
{
	const char *line;
	size_t n;
	long long num = 0;
	int rc;

	if (*pos == len)
		return BRIDGE_CODEC_INCOMPLETE;
	*v = (struct bridge_value){ .type = buf[*pos] };
	if (v->type == '*' && inside)
		return BRIDGE_CODEC_NESTED;
	if (strchr("+-:$*", v->type) == NULL || v->type == '\0') {
		*refused = (unsigned char)v->type;
		return BRIDGE_CODEC_PROTOCOL;
	}
	if ((rc = take_line(buf, len, pos, &line, &n)) != 0)
		return rc;
	if (v->type == '+' || v->type == '-') {
		v->str = line;
		v->len = n;
		return 0;
	}
	if (!canonical_number(line, n, &num))
		return BRIDGE_CODEC_PROTOCOL;
	if (v->type == ':')
		v->integer = num;
	if (v->type == '$')
		return take_bulk(buf, len, pos, num, lim, v, refused);
	if (v->type == '*')
		return take_array(num, lim, v, refused);
	return 0;
}

ssize_t
bridge_codec_parse(const char *buf, size_t len,
    const struct bridge_reply_limits *lim, struct bridge_reply *out)
{
	size_t pos = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = take_value(buf, len, &pos, lim, false, &out->top, &out->refused);
	for (size_t i = 0; rc == 0 && out->top.type == '*' && i < out->top.len;
	    i++)
		rc = take_value(buf, len, &pos, lim, true, &out->element[i],
		    &out->refused);
	if ((rc == 0 && pos > lim->max_reply) ||
	    (rc == BRIDGE_CODEC_INCOMPLETE && len > lim->max_reply)) {
		out->refused = (long long)(rc == 0 ? pos : len);
		rc = BRIDGE_CODEC_REPLY_TOO_LONG;
	}
	return rc == 0 ? (ssize_t)pos : rc;
}

static bool
room_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

/* The room of channel `ch` if it is PREFIX:ROOM, ROOM a valid room name,
 * copied into room; false if the channel is not a room's. */
static bool
channel_room(const struct bridge_value *ch, const char *prefix,
    char room[ROOM_NAME_MAX + 1])
{
	size_t plen = strlen(prefix), rlen;

	if (ch->type != '$' || ch->nil || ch->len <= plen + 1 ||
	    ch->len > plen + 1 + ROOM_NAME_MAX ||
	    memcmp(ch->str, prefix, plen) != 0 || ch->str[plen] != ':')
		return false;
	rlen = ch->len - plen - 1;
	for (size_t i = 0; i < rlen; i++)
		if (!room_char(ch->str[plen + 1 + i]))
			return false;
	memcpy(room, ch->str + plen + 1, rlen);
	room[rlen] = '\0';
	return true;
}

static bool
is_bulk(const struct bridge_value *v)
{
	return v->type == '$' && !v->nil;
}

int
bridge_codec_message(const struct bridge_reply *r, const char *prefix,
    struct bridge_message *out)
{
	const struct bridge_value *env = &r->element[2];

	if (r->top.type != '*' || r->top.nil || r->top.len != 3 ||
	    !is_bulk(&r->element[0]) || r->element[0].len != 7 ||
	    memcmp(r->element[0].str, "message", 7) != 0)
		return BRIDGE_CODEC_NOT_MESSAGE;
	if (!channel_room(&r->element[1], prefix, out->room))
		return BRIDGE_CODEC_BAD_CHANNEL;
	if (!is_bulk(env) || env->len < ENVELOPE_HEAD ||
	    (env->str[HUB_ID_LEN] != MSG_TEXT &&
	    env->str[HUB_ID_LEN] != MSG_BINARY))
		return BRIDGE_CODEC_NOT_ENVELOPE;
	out->hub_id = (const uint8_t *)env->str;
	out->opcode = (uint8_t)env->str[HUB_ID_LEN];
	out->payload = env->str + ENVELOPE_HEAD;
	out->len = env->len - ENVELOPE_HEAD;
	return 0;
}

size_t
bridge_codec_channel(char out[CHANNEL_MAX], const char *prefix,
    const char *room)
{
	int n = snprintf(out, CHANNEL_MAX, "%s:%s", prefix, room);

	return n < 0 ? 0 : (size_t)n;
}

size_t
bridge_codec_publish_head(char out[PUB_HEAD_MAX], const char *prefix,
    const char *room, const uint8_t hub_id[HUB_ID_LEN], uint8_t opcode,
    size_t len)
{
	char channel[CHANNEL_MAX];
	size_t clen = bridge_codec_channel(channel, prefix, room);
	int n = snprintf(out, PUB_HEAD_MAX - ENVELOPE_HEAD,
	    "*3\r\n$7\r\nPUBLISH\r\n$%zu\r\n%s\r\n$%zu\r\n", clen, channel,
	    ENVELOPE_HEAD + len);

	memcpy(out + n, hub_id, HUB_ID_LEN);
	out[n + HUB_ID_LEN] = (char)opcode;
	return (size_t)n + ENVELOPE_HEAD;
}

/* The fixed phrases of bridge_codec_reason, by -code. */
static const char *const phrases[] = {
	[-BRIDGE_CODEC_INCOMPLETE] = "a reply cut short",
	[-BRIDGE_CODEC_PROTOCOL] = "Protocol error: not RESP2",
	[-BRIDGE_CODEC_NESTED] = "an array inside an array",
	[-BRIDGE_CODEC_NOT_MESSAGE] = "not a message",
	[-BRIDGE_CODEC_BAD_CHANNEL] = "its channel is not PREFIX:ROOM",
	[-BRIDGE_CODEC_NOT_ENVELOPE] = "not a wshub envelope",
};

const char *
bridge_codec_reason(ssize_t code, const struct bridge_reply *r,
    const struct bridge_reply_limits *lim, char *out, size_t size)
{
	if (code == BRIDGE_CODEC_PROTOCOL && r->refused != 0)
		snprintf(out, size, "Protocol error: 0x%02llx is not a reply "
		    "type", r->refused);
	else if (code == BRIDGE_CODEC_ARRAY_TOO_LONG)
		snprintf(out, size, "an array of %lld elements (at most %d)",
		    r->refused, lim->max_elements);
	else if (code == BRIDGE_CODEC_STRING_TOO_LONG)
		snprintf(out, size, "a string of %lld bytes (at most %zu)",
		    r->refused, lim->max_string);
	else if (code == BRIDGE_CODEC_LINE_TOO_LONG)
		snprintf(out, size, "a line longer than %d bytes",
		    LINE_MAX_BYTES);
	else if (code == BRIDGE_CODEC_REPLY_TOO_LONG)
		snprintf(out, size, "a reply longer than %zu bytes",
		    lim->max_reply);
	else if (code < 0 && -code < (ssize_t)(sizeof(phrases) /
	    sizeof(phrases[0])) && phrases[-code] != NULL)
		snprintf(out, size, "%s", phrases[-code]);
	else
		snprintf(out, size, "not an error (%zd)", code);
	return out;
}
