/*
 * msg — immutable, reference-counted frames (see msg.h).
 *
 * One allocation per message: the struct, then the wire bytes (header and
 * payload) in a flexible array member.  The reference count is the only
 * field written after construction.  msg_ref is a relaxed increment (the
 * caller already holds a reference, so the object is alive); msg_unref is an
 * acq_rel decrement so that every thread's reads of the bytes happen before
 * the free by whichever thread drops the count to zero.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "wshub/msg.h"
#include "wshub/xmalloc.h"

#define CONTROL_PAYLOAD_MAX 125
#define CLOSE_REASON_MAX (CONTROL_PAYLOAD_MAX - 2)

static atomic_long live_messages;

struct msg {
	atomic_uint refs;
	uint8_t opcode;
	size_t header_len;
	size_t wire_len;
	uint8_t wire[]; /* header_len bytes of header, then the payload */
};

size_t
msg_encode_header(uint8_t *out, uint8_t opcode, uint64_t payload_len)
{
	out[0] = 0x80 | (opcode & 0x0f); /* FIN, no RSV bits */
	if (payload_len <= 125) {
		out[1] = (uint8_t)payload_len; /* MASK bit clear */
		return 2;
	}
	if (payload_len <= 0xffff) {
		out[1] = 126;
		out[2] = (uint8_t)(payload_len >> 8);
		out[3] = (uint8_t)payload_len;
		return 4;
	}
	out[1] = 127;
	for (int i = 0; i < 8; i++)
		out[2 + i] = (uint8_t)(payload_len >> (56 - 8 * i));
	return 10;
}

/* Allocates a message with room for `wire_len` bytes, one reference. */
static msg_t *
msg_alloc(uint8_t opcode, size_t header_len, size_t wire_len)
{
	msg_t *m = xmalloc(sizeof(*m) + wire_len);

	atomic_init(&m->refs, 1);
	atomic_fetch_add_explicit(&live_messages, 1, memory_order_relaxed);
	m->opcode = opcode;
	m->header_len = header_len;
	m->wire_len = wire_len;
	return m;
}

msg_t *
msg_new_frame(uint8_t opcode, const void *payload, size_t len)
{
	uint8_t header[MSG_MAX_HEADER];
	size_t hlen = msg_encode_header(header, opcode, len);
	msg_t *m = msg_alloc(opcode, hlen, hlen + len);

	memcpy(m->wire, header, hlen);
	if (len > 0)
		memcpy(m->wire + hlen, payload, len);
	return m;
}

/* Length of `s` cut to at most `max` bytes without splitting a character. */
static size_t
utf8_prefix_len(const char *s, size_t max)
{
	size_t len = strnlen(s, max + 1);

	if (len <= max)
		return len;
	len = max;
	while (len > 0 && ((unsigned char)s[len] & 0xc0) == 0x80)
		len--; /* s[len] continues a character: cut before its start */
	return len;
}

msg_t *
msg_new_close(uint16_t code, const char *reason)
{
	uint8_t payload[CONTROL_PAYLOAD_MAX];
	size_t rlen;

	if (code == 0)
		return msg_new_frame(MSG_CLOSE, NULL, 0);
	rlen = reason ? utf8_prefix_len(reason, CLOSE_REASON_MAX) : 0;
	payload[0] = (uint8_t)(code >> 8);
	payload[1] = (uint8_t)code;
	if (rlen > 0)
		memcpy(payload + 2, reason, rlen);
	return msg_new_frame(MSG_CLOSE, payload, 2 + rlen);
}

msg_t *
msg_new_encoded(uint8_t last_opcode, const void *bytes, size_t len)
{
	msg_t *m = msg_alloc(last_opcode, 0, len);

	if (len > 0)
		memcpy(m->wire, bytes, len);
	return m;
}

msg_t *
msg_ref(msg_t *m)
{
	atomic_fetch_add_explicit(&m->refs, 1, memory_order_relaxed);
	return m;
}

void
msg_unref(msg_t *m)
{
	if (m == NULL)
		return;
	if (atomic_fetch_sub_explicit(&m->refs, 1, memory_order_acq_rel) == 1) {
		atomic_fetch_sub_explicit(&live_messages, 1, memory_order_relaxed);
		free(m);
	}
}

long
msg_live(void)
{
	return atomic_load_explicit(&live_messages, memory_order_relaxed);
}

const uint8_t *
msg_wire(const msg_t *m)
{
	return m->wire;
}

size_t
msg_wire_len(const msg_t *m)
{
	return m->wire_len;
}

size_t
msg_weigh(const void *item)
{
	return msg_wire_len(item);
}

const uint8_t *
msg_payload(const msg_t *m)
{
	return m->wire + m->header_len;
}

size_t
msg_payload_len(const msg_t *m)
{
	return m->wire_len - m->header_len;
}

uint8_t
msg_opcode(const msg_t *m)
{
	return m->opcode;
}
