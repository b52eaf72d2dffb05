/*
 * bridge_codec without Redis: every reply kind, each bound at its edge
 * (the limit passes, one more is refused, whole or still arriving), every
 * prefix of a good reply incomplete, a push's message and its refusals,
 * and a PUBLISH that parses back to what went in.  Each input ends at a
 * guard page, so a read past it crashes the test (as picohttpparser's
 * tests do).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "wshub/bridge_codec.h"
#include "wshub/msg.h"

static char *guarded;   /* two pages and more: the input, then PROT_NONE */
static size_t guarded_len;

/* s[0..len) copied to end right before an unreadable page. */
static const char *
at_guard(const char *s, size_t len)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t data = (len + page - 1) / page * page + page;

	if (guarded != NULL)
		munmap(guarded, guarded_len);
	guarded_len = data + page;
	guarded = mmap(NULL, guarded_len, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	cr_assert_neq(guarded, MAP_FAILED);
	cr_assert_eq(mprotect(guarded + data, page, PROT_NONE), 0);
	memcpy(guarded + data - len, s, len);
	return guarded + data - len;
}

static ssize_t
parse(const char *s, size_t len, const struct bridge_reply_limits *lim,
    struct bridge_reply *r)
{
	return bridge_codec_parse(at_guard(s, len), len, lim, r);
}

#define SUB (&bridge_subscribe_limits)
#define PUB (&bridge_publish_limits)
#define S(s) (s), sizeof(s) - 1

Test(bridge_codec, each_reply_kind_and_each_refusal)
{
	static const struct {
		const char *in;
		size_t len;
		const struct bridge_reply_limits *lim;
		ssize_t want;           /* bytes taken, or the error */
		char type;
		long long integer;      /* ':' */
	} cases[] = {
		{ S("+OK\r\n"), PUB, 5, '+', 0 },
		{ S("-ERR no\r\n"), PUB, 9, '-', 0 },
		{ S(":42\r\n"), PUB, 5, ':', 42 },
		{ S(":0\r\n"), PUB, 4, ':', 0 },
		{ S(":-7\r\n"), PUB, 5, ':', -7 },
		{ S(":9223372036854775807\r\n"), PUB, 22, ':', 9223372036854775807LL },
		{ S(":-9223372036854775808\r\n"), PUB, 23, ':', -9223372036854775807LL - 1 },
		{ S(":9223372036854775808\r\n"), PUB, BRIDGE_CODEC_PROTOCOL, 0, 0 },
		{ S(":007\r\n"), PUB, BRIDGE_CODEC_PROTOCOL, 0, 0 },
		{ S(":-0\r\n"), PUB, BRIDGE_CODEC_PROTOCOL, 0, 0 },
		{ S(":+1\r\n"), PUB, BRIDGE_CODEC_PROTOCOL, 0, 0 },
		{ S(":\r\n"), PUB, BRIDGE_CODEC_PROTOCOL, 0, 0 },
		{ S(":1x\r\n"), PUB, BRIDGE_CODEC_PROTOCOL, 0, 0 },
		{ S("$5\r\nhello\r\n+next"), SUB, 11, '$', 0 },
		{ S("$0\r\n\r\n"), SUB, 6, '$', 0 },
		{ S("$-1\r\n"), SUB, 5, '$', 0 },
		{ S("$-2\r\n"), SUB, BRIDGE_CODEC_PROTOCOL, 0, 0 },
		{ S("$5\r\nhelloXY"), SUB, BRIDGE_CODEC_PROTOCOL, 0, 0 },
		{ S("*-1\r\n"), SUB, 5, '*', 0 },
		{ S("*0\r\n"), PUB, 4, '*', 0 },
		{ S("*1\r\n:1\r\n"), PUB, BRIDGE_CODEC_ARRAY_TOO_LONG, 0, 0 },
		{ S("*3\r\n:1\r\n+a\r\n$-1\r\n"), SUB, 17, '*', 0 },
		{ S("*4\r\n"), SUB, BRIDGE_CODEC_ARRAY_TOO_LONG, 0, 0 },
		{ S("*2147483647\r\n"), SUB, BRIDGE_CODEC_ARRAY_TOO_LONG, 0, 0 },
		{ S("*2\r\n:1\r\n*1\r\n"), SUB, BRIDGE_CODEC_NESTED, 0, 0 },
		{ S("*1\r\n*"), SUB, BRIDGE_CODEC_NESTED, 0, 0 },
		{ S("*-2\r\n"), SUB, BRIDGE_CODEC_PROTOCOL, 0, 0 },
		{ S("?garbage\r\n"), SUB, BRIDGE_CODEC_PROTOCOL, 0, 0 },
		{ S("\0"), SUB, BRIDGE_CODEC_PROTOCOL, 0, 0 },
		{ S("_\r\n"), SUB, BRIDGE_CODEC_PROTOCOL, 0, 0 }, /* RESP3 */
		{ S(""), SUB, BRIDGE_CODEC_INCOMPLETE, 0, 0 },
		{ S("$2147483647\r\n"), SUB, BRIDGE_CODEC_STRING_TOO_LONG, 0, 0 },
		{ S("$1025\r\n"), PUB, BRIDGE_CODEC_STRING_TOO_LONG, 0, 0 },
		{ S("$1024\r\n"), PUB, BRIDGE_CODEC_INCOMPLETE, 0, 0 },
	};
	struct bridge_reply r;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ssize_t got = parse(cases[i].in, cases[i].len, cases[i].lim, &r);

		cr_expect_eq(got, cases[i].want, "case %zu: %zd, want %zd", i,
		    got, cases[i].want);
		if (got <= 0)
			continue;
		cr_expect_eq(r.top.type, cases[i].type, "case %zu", i);
		if (r.top.type == ':')
			cr_expect_eq(r.top.integer, cases[i].integer, "case %zu", i);
	}
}

Test(bridge_codec, values_point_into_the_buffer)
{
	static const char in[] = "*3\r\n$7\r\nmessage\r\n$-1\r\n:5\r\n";
	struct bridge_reply r;
	const char *at = at_guard(in, sizeof(in) - 1);

	cr_assert_eq(bridge_codec_parse(at, sizeof(in) - 1, SUB, &r),
	    (ssize_t)sizeof(in) - 1);
	cr_assert(r.top.type == '*' && !r.top.nil && r.top.len == 3);
	cr_assert(r.element[0].type == '$' && r.element[0].str == at + 8 &&
	    r.element[0].len == 7);
	cr_assert(r.element[1].type == '$' && r.element[1].nil);
	cr_assert(r.element[2].type == ':' && r.element[2].integer == 5);
}

/* Every strict prefix of a good reply is incomplete, never an error. */
Test(bridge_codec, every_prefix_is_incomplete)
{
	static const char *good[] = {
		"+OK\r\n", ":-12\r\n", "$3\r\nabc\r\n", "$-1\r\n", "*0\r\n",
		"*3\r\n$7\r\nmessage\r\n$7\r\nwshub:r\r\n$10\r\nOTHERHUB\001x\r\n",
	};
	struct bridge_reply r;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		size_t len = strlen(good[i]);

		cr_expect_eq(parse(good[i], len, SUB, &r), (ssize_t)len, "%zu", i);
		for (size_t k = 0; k < len; k++)
			cr_expect_eq(parse(good[i], k, SUB, &r),
			    BRIDGE_CODEC_INCOMPLETE, "reply %zu cut at %zu", i, k);
	}
}

/* A status line of n bytes, ended or not. */
static ssize_t
line_of(size_t n, bool ended)
{
	char *s = malloc(n + 3);
	struct bridge_reply r;
	ssize_t got;

	s[0] = '+';
	memset(s + 1, 'x', n);
	memcpy(s + 1 + n, "\r\n", 2);
	got = parse(s, 1 + n + (ended ? 2 : 0), SUB, &r);
	free(s);
	return got;
}

Test(bridge_codec, a_line_is_at_most_LINE_MAX_BYTES)
{
	cr_expect_eq(line_of(LINE_MAX_BYTES, true), LINE_MAX_BYTES + 3);
	cr_expect_eq(line_of(LINE_MAX_BYTES + 1, true),
	    BRIDGE_CODEC_LINE_TOO_LONG);
	/* Still coming: refused once more than a line's worth is in. */
	cr_expect_eq(line_of(LINE_MAX_BYTES + 1, false),
	    BRIDGE_CODEC_INCOMPLETE);
	cr_expect_eq(line_of(LINE_MAX_BYTES + 2, false),
	    BRIDGE_CODEC_LINE_TOO_LONG);
}

/* "$N\r\n" alone: incomplete if N may come, refused at once if not. */
static ssize_t
length_line(size_t n, const struct bridge_reply_limits *lim)
{
	char s[32];
	struct bridge_reply r;
	int len = snprintf(s, sizeof(s), "$%zu\r\n", n);

	return parse(s, (size_t)len, lim, &r);
}

Test(bridge_codec, a_string_is_at_most_the_largest_envelope)
{
	cr_expect_eq(length_line(ENVELOPE_MAX, SUB), BRIDGE_CODEC_INCOMPLETE);
	cr_expect_eq(length_line(ENVELOPE_MAX + 1, SUB),
	    BRIDGE_CODEC_STRING_TOO_LONG);
	cr_expect_eq(length_line(LINE_MAX_BYTES, PUB), BRIDGE_CODEC_INCOMPLETE);
	cr_expect_eq(length_line(LINE_MAX_BYTES + 1, PUB),
	    BRIDGE_CODEC_STRING_TOO_LONG);
}

Test(bridge_codec, an_array_has_at_most_PUSH_ELEMENTS)
{
	struct bridge_reply r;

	cr_expect_eq(parse(S("*3\r\n"), SUB, &r), BRIDGE_CODEC_INCOMPLETE);
	cr_expect_eq(parse(S("*4\r\n"), SUB, &r), BRIDGE_CODEC_ARRAY_TOO_LONG);
	cr_expect_eq(r.refused, 4);
	cr_expect_eq(parse(S("*0\r\n"), PUB, &r), 4);
	cr_expect_eq(parse(S("*1\r\n"), PUB, &r), BRIDGE_CODEC_ARRAY_TOO_LONG);
}

/* A push of exactly `total` bytes: "message", a channel of filler, and an
 * envelope of ENVELOPE_MAX bytes (the largest string), into buf. */
static size_t
push_of(char *buf, size_t total)
{
	size_t head = (size_t)sprintf(buf, "*3\r\n$7\r\nmessage\r\n");
	size_t env_framing = (size_t)snprintf(NULL, 0, "$%zu\r\n\r\n",
	    (size_t)ENVELOPE_MAX);
	size_t rest = total - head - env_framing - ENVELOPE_MAX, clen = rest;
	size_t n;

	/* the channel's framing: "$" clen "\r\n" ... "\r\n" */
	while (clen + (size_t)snprintf(NULL, 0, "$%zu\r\n\r\n", clen) > rest)
		clen--;
	cr_assert_eq(clen + (size_t)snprintf(NULL, 0, "$%zu\r\n\r\n", clen), rest);
	n = head + (size_t)sprintf(buf + head, "$%zu\r\n", clen);
	memset(buf + n, 'c', clen);
	n += clen;
	n += (size_t)sprintf(buf + n, "\r\n$%zu\r\n", (size_t)ENVELOPE_MAX);
	memset(buf + n, 'e', ENVELOPE_MAX);
	n += ENVELOPE_MAX;
	memcpy(buf + n, "\r\n", 2);
	return n + 2;
}

Test(bridge_codec, a_push_is_at_most_PUSH_MAX_bytes, .timeout = 60)
{
	char *buf = malloc(PUSH_MAX + 16);
	struct bridge_reply r;

	cr_assert_eq(push_of(buf, PUSH_MAX), PUSH_MAX);
	cr_expect_eq(bridge_codec_parse(buf, PUSH_MAX, SUB, &r),
	    (ssize_t)PUSH_MAX);
	cr_assert_eq(push_of(buf, PUSH_MAX + 1), PUSH_MAX + 1);
	cr_expect_eq(bridge_codec_parse(buf, PUSH_MAX + 1, SUB, &r),
	    BRIDGE_CODEC_REPLY_TOO_LONG);
	/* Still coming: PUSH_MAX bytes in, it may yet end in time; one
	 * more, it cannot. */
	cr_assert_eq(push_of(buf, PUSH_MAX + 2), PUSH_MAX + 2);
	cr_expect_eq(bridge_codec_parse(buf, PUSH_MAX, SUB, &r),
	    BRIDGE_CODEC_INCOMPLETE);
	cr_expect_eq(bridge_codec_parse(buf, PUSH_MAX + 1, SUB, &r),
	    BRIDGE_CODEC_REPLY_TOO_LONG);
	free(buf);
}

/* A push ["message", channel, envelope] parsed into r (buf keeps it). */
static int
message_of(char *buf, const char *ch, size_t chlen, const char *env,
    size_t envlen, struct bridge_message *m)
{
	struct bridge_reply r;
	size_t n = (size_t)sprintf(buf, "*3\r\n$7\r\nmessage\r\n$%zu\r\n", chlen);

	memcpy(buf + n, ch, chlen);
	n += chlen;
	n += (size_t)sprintf(buf + n, "\r\n$%zu\r\n", envlen);
	memcpy(buf + n, env, envlen);
	n += envlen;
	memcpy(buf + n, "\r\n", 2);
	cr_assert_eq(bridge_codec_parse(buf, n + 2, SUB, &r), (ssize_t)n + 2);
	return bridge_codec_message(&r, "wshub", m);
}

Test(bridge_codec, a_message_s_channel_and_envelope)
{
	static char room64[6 + ROOM_NAME_MAX + 2] = "wshub:";
	static const struct {
		const char *ch;
		size_t chlen;
		const char *env;
		size_t envlen;
		int want;
	} cases[] = {
		{ S("wshub:r"), S("OTHERHUB\001hi"), 0 },
		{ S("wshub:r"), S("OTHERHUB\002"), 0 },           /* empty */
		{ room64, 6 + ROOM_NAME_MAX, S("OTHERHUB\001x"), 0 },
		{ room64, 6 + ROOM_NAME_MAX + 1, S("OTHERHUB\001x"),
		    BRIDGE_CODEC_BAD_CHANNEL },
		{ S("wshub:r\0x"), S("OTHERHUB\001x"), BRIDGE_CODEC_BAD_CHANNEL },
		{ S("wshub:r x"), S("OTHERHUB\001x"), BRIDGE_CODEC_BAD_CHANNEL },
		{ S("wshub:"), S("OTHERHUB\001x"), BRIDGE_CODEC_BAD_CHANNEL },
		{ S("wshub"), S("OTHERHUB\001x"), BRIDGE_CODEC_BAD_CHANNEL },
		{ S("wshubXr"), S("OTHERHUB\001x"), BRIDGE_CODEC_BAD_CHANNEL },
		{ S("other:r"), S("OTHERHUB\001x"), BRIDGE_CODEC_BAD_CHANNEL },
		{ S("wshub:r"), S("OTHERHUB"), BRIDGE_CODEC_NOT_ENVELOPE },
		{ S("wshub:r"), S("OTHERHUB\011x"), BRIDGE_CODEC_NOT_ENVELOPE },
		{ S("wshub:r"), S("OTHERHUB\000x"), BRIDGE_CODEC_NOT_ENVELOPE },
	};
	char *buf = malloc(1024);
	struct bridge_message m;

	memset(room64 + 6, 'r', ROOM_NAME_MAX + 1);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int got = message_of(buf, cases[i].ch, cases[i].chlen,
		    cases[i].env, cases[i].envlen, &m);

		cr_expect_eq(got, cases[i].want, "case %zu: %d", i, got);
		if (got != 0)
			continue;
		cr_expect_eq(strlen(m.room), cases[i].chlen - 6, "case %zu", i);
		cr_expect_eq(memcmp(m.hub_id, "OTHERHUB", HUB_ID_LEN), 0);
		cr_expect_eq(m.opcode, (uint8_t)cases[i].env[HUB_ID_LEN]);
		cr_expect_eq(m.len, cases[i].envlen - ENVELOPE_HEAD);
		cr_expect(m.payload > buf && m.payload + m.len < buf + 1024 &&
		    memcmp(m.payload, cases[i].env + ENVELOPE_HEAD, m.len) == 0,
		    "case %zu: the payload, in the reply", i);
	}
	free(buf);
}

/* What is not a message: confirmations, nils, other shapes. */
Test(bridge_codec, a_push_that_is_no_message)
{
	static const char *in[] = {
		"*3\r\n$9\r\nsubscribe\r\n$7\r\nwshub:r\r\n:1\r\n",
		"*3\r\n$-1\r\n$7\r\nwshub:r\r\n$9\r\nOTHERHUB\001\r\n",
		"*2\r\n$7\r\nmessage\r\n$7\r\nwshub:r\r\n",
		"*-1\r\n", "+message\r\n", ":3\r\n",
	};
	struct bridge_reply r;
	struct bridge_message m;

	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		cr_assert_gt(parse(in[i], strlen(in[i]), SUB, &r), 0, "%zu", i);
		cr_expect_eq(bridge_codec_message(&r, "wshub", &m),
		    BRIDGE_CODEC_NOT_MESSAGE, "%zu", i);
	}
	cr_assert_gt(parse(S("*3\r\n$7\r\nmessage\r\n$-1\r\n$1\r\nx\r\n"), SUB,
	    &r), 0);
	cr_expect_eq(bridge_codec_message(&r, "wshub", &m),
	    BRIDGE_CODEC_BAD_CHANNEL);
	cr_assert_gt(parse(S("*3\r\n$7\r\nmessage\r\n$7\r\nwshub:r\r\n$-1\r\n"),
	    SUB, &r), 0);
	cr_expect_eq(bridge_codec_message(&r, "wshub", &m),
	    BRIDGE_CODEC_NOT_ENVELOPE);
}

/* A PUBLISH parses (as the array it is) back to its channel and envelope. */
Test(bridge_codec, a_publish_parses_back_to_what_went_in)
{
	static const uint8_t id[HUB_ID_LEN] = "12345678";
	char room[ROOM_NAME_MAX + 1], prefix[PREFIX_MAX + 1], *buf;
	char head[PUB_HEAD_MAX], channel[CHANNEL_MAX];
	struct bridge_reply r;
	size_t n, clen;

	memset(room, 'r', ROOM_NAME_MAX);
	room[ROOM_NAME_MAX] = '\0';
	memset(prefix, 'p', PREFIX_MAX);
	prefix[PREFIX_MAX] = '\0';
	n = bridge_codec_publish_head(head, prefix, room, id, MSG_BINARY, 5);
	cr_assert_leq(n, PUB_HEAD_MAX);
	clen = bridge_codec_channel(channel, prefix, room);
	cr_assert_eq(clen, CHANNEL_MAX - 1);
	buf = malloc(n + 7);
	memcpy(buf, head, n);
	memcpy(buf + n, "hello\r\n", 7);
	cr_assert_eq(parse(buf, n + 7, SUB, &r), (ssize_t)(n + 7));
	cr_assert(r.top.len == 3 && r.element[0].len == 7 &&
	    memcmp(r.element[0].str, "PUBLISH", 7) == 0);
	cr_assert(r.element[1].len == clen &&
	    memcmp(r.element[1].str, channel, clen) == 0);
	cr_assert(r.element[2].len == ENVELOPE_HEAD + 5 &&
	    memcmp(r.element[2].str, id, HUB_ID_LEN) == 0 &&
	    r.element[2].str[HUB_ID_LEN] == MSG_BINARY &&
	    memcmp(r.element[2].str + ENVELOPE_HEAD, "hello", 5) == 0);
	free(buf);
}

/* The reasons name what was refused (the bridge logs them). */
Test(bridge_codec, each_refusal_is_named)
{
	static const struct {
		const char *in;
		size_t len;
		const char *says;
	} cases[] = {
		{ S("*2147483647\r\n"), "an array of 2147483647 elements (at most 3)" },
		{ S("*1\r\n*1\r\n"), "an array inside an array" },
		{ S("$2147483647\r\n"), "a string of 2147483647 bytes" },
		{ S("?x\r\n"), "Protocol error: 0x3f is not a reply type" },
		{ S(":01\r\n"), "Protocol error" },
	};
	struct bridge_reply r;
	char why[128];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ssize_t rc = parse(cases[i].in, cases[i].len, SUB, &r);

		cr_assert_lt(rc, 0, "case %zu", i);
		bridge_codec_reason(rc, &r, SUB, why, sizeof(why));
		cr_expect(strstr(why, cases[i].says) != NULL, "case %zu: %s", i,
		    why);
	}
	cr_expect_str_eq(bridge_codec_reason(BRIDGE_CODEC_LINE_TOO_LONG, &r, SUB,
	    why, sizeof(why)), "a line longer than 1024 bytes");
	cr_expect_str_eq(bridge_codec_reason(BRIDGE_CODEC_NOT_ENVELOPE, &r, SUB,
	    why, sizeof(why)), "not a wshub envelope");
}
