/*
 * bridge_codec — the bytes between a hub and Redis, without Redis: the
 * replies Redis sends (RESP2, parsed within a connection's limits before
 * anything of them is kept), the "message" push that carries another
 * hub's message, and the PUBLISH that carries ours.  No sockets, threads,
 * allocation, logging or mutable state: every function works on the
 * caller's buffers and returns a count or a negative enum
 * bridge_codec_error, as picohttpparser does.  bridge.c reads the
 * sockets; test/test_bridge_codec.c and test/fuzz/fuzz_redis.c drive this
 * with plain buffers.
 *
 * Envelope (the payload of a PUBLISH): 8 (HUB_ID_LEN) bytes of hub id
 * (random per process), 1 byte of opcode (1 text, 2 binary), then the
 * message's payload, byte for byte.  The channel of room ROOM is
 * PREFIX:ROOM.
 */
#ifndef WSHUB_BRIDGE_CODEC_H
#define WSHUB_BRIDGE_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "wshub/config.h"

#define HUB_ID_LEN 8
#define ENVELOPE_HEAD (HUB_ID_LEN + 1)
#define PREFIX_MAX 63            /* --redis-prefix */
#define CHANNEL_MAX (PREFIX_MAX + 1 + ROOM_NAME_MAX + 1) /* with its NUL */
#define PUB_HEAD_MAX (64 + CHANNEL_MAX + ENVELOPE_HEAD)

/*
 * What a reply may be: what a hub can use.  A push is an array of three
 * ("message", the channel, the envelope), never nested; a string at most
 * the largest envelope any hub can publish (--max-message is at most
 * MAX_MESSAGE_LIMIT); a status or error line, or a number's line, at most
 * LINE_MAX_BYTES.  The publish connection gets integers and status lines
 * only.
 */
#define PUSH_ELEMENTS 3
#define LINE_MAX_BYTES 1024
#define ENVELOPE_MAX ((size_t)ENVELOPE_HEAD + MAX_MESSAGE_LIMIT)
#define PUSH_MAX (ENVELOPE_MAX + 2 * CHANNEL_MAX + 64) /* framing included */

/* The limits of one connection's replies. */
struct bridge_reply_limits {
	int max_elements;       /* of an array; 0: no arrays but empty ones */
	size_t max_string;      /* bytes of a bulk string */
	size_t max_reply;       /* bytes of one reply, its framing included */
};

/* The subscribe connection's (pushes) and the publish connection's. */
extern const struct bridge_reply_limits bridge_subscribe_limits;
extern const struct bridge_reply_limits bridge_publish_limits;

/* One RESP2 value, pointing into the buffer it was parsed from. */
struct bridge_value {
	char type;              /* the type byte: '+' status, '-' error,
	                           ':' integer, '$' bulk string, '*' array */
	bool nil;               /* "$-1" or "*-1" */
	const char *str;        /* '+', '-', '$': the bytes (not NUL-ended) */
	size_t len;             /* of str; '*': the number of elements */
	long long integer;      /* ':' */
};

/* A reply: a value, and if it is an array its elements (never arrays). */
struct bridge_reply {
	struct bridge_value top;
	struct bridge_value element[PUSH_ELEMENTS];
	long long refused;      /* after an error: the count, length or type
	                           byte refused (bridge_codec_reason shows it) */
};

enum bridge_codec_error {
	BRIDGE_CODEC_INCOMPLETE = -1,   /* a reply's start, nothing wrong yet:
	                                   read more, call again with it all */
	BRIDGE_CODEC_PROTOCOL = -2,     /* not RESP2: a type byte, a number
	                                   (not canonical, out of range), a
	                                   missing "\r\n" */
	BRIDGE_CODEC_NESTED = -3,       /* an array inside an array */
	BRIDGE_CODEC_ARRAY_TOO_LONG = -4,  /* more than max_elements */
	BRIDGE_CODEC_STRING_TOO_LONG = -5, /* its length line says more than
	                                      max_string: refused at once */
	BRIDGE_CODEC_LINE_TOO_LONG = -6,   /* more than LINE_MAX_BYTES, ended
	                                      or not */
	BRIDGE_CODEC_REPLY_TOO_LONG = -7,  /* more than max_reply, whole or
	                                      still coming */
	BRIDGE_CODEC_NOT_MESSAGE = -8,  /* a push, not a "message" one (a
	                                   (un)subscribe confirmation) */
	BRIDGE_CODEC_BAD_CHANNEL = -9,  /* a message on a channel that is not
	                                   PREFIX:ROOM with a valid ROOM */
	BRIDGE_CODEC_NOT_ENVELOPE = -10, /* a message that is not a whole
	                                    envelope with opcode 1 or 2 */
};

/*
 * Parses the reply at the start of buf[0..len) within `lim`.  Returns the
 * bytes it takes (then *out points into buf), or BRIDGE_CODEC_INCOMPLETE
 * (call again once more bytes follow these), or another error: the
 * connection is unusable (Redis sent what no hub can use; close it).
 * Looks at no byte past buf[len), and at no more of a line than
 * LINE_MAX_BYTES + 2, so parsing again as bytes arrive costs little.
 */
ssize_t bridge_codec_parse(const char *buf, size_t len,
    const struct bridge_reply_limits *lim, struct bridge_reply *out);

/* A message from another hub, as a push carries it. */
struct bridge_message {
	char room[ROOM_NAME_MAX + 1];
	const uint8_t *hub_id;  /* HUB_ID_LEN bytes, into the reply */
	uint8_t opcode;         /* MSG_TEXT or MSG_BINARY */
	const char *payload;    /* into the reply */
	size_t len;
};

/*
 * The message a push `r` carries: ["message", PREFIX:ROOM, envelope], ROOM
 * a valid room name (as the handshake takes them: 1 to ROOM_NAME_MAX of
 * A-Z a-z 0-9 . _ -).  0 with *out, or BRIDGE_CODEC_NOT_MESSAGE (nothing
 * to deliver), _BAD_CHANNEL or _NOT_ENVELOPE (a message refused).  Whether
 * the payload is valid for its opcode, or not too long, is the caller's
 * rule to apply.
 */
int bridge_codec_message(const struct bridge_reply *r, const char *prefix,
    struct bridge_message *out);

/* The channel of `room`: PREFIX:ROOM into out.  Returns its length. */
size_t bridge_codec_channel(char out[CHANNEL_MAX], const char *prefix,
    const char *room);

/*
 * The head of PUBLISH PREFIX:ROOM ENVELOPE, up to the envelope's payload
 * (of len bytes, with `opcode` and `hub_id`), into out; the payload and
 * "\r\n" follow it on the wire.  prefix at most PREFIX_MAX bytes, room at
 * most ROOM_NAME_MAX.  Returns its length, at most PUB_HEAD_MAX.
 */
size_t bridge_codec_publish_head(char out[PUB_HEAD_MAX], const char *prefix,
    const char *room, const uint8_t hub_id[HUB_ID_LEN], uint8_t opcode,
    size_t len);

/* Why `code` (an enum bridge_codec_error that bridge_codec_parse returned
 * with `r`, under `lim`), one line into out.  Returns out. */
const char *bridge_codec_reason(ssize_t code, const struct bridge_reply *r,
    const struct bridge_reply_limits *lim, char *out, size_t size);

#endif
