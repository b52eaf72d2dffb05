/* payload — encoding of wshub-load's messages (see payload.h). */
#include <string.h>

#include "payload.h"

static const uint8_t binary_magic[4] = { 0xf7, 'W', 'L', '1' };
static const char text_magic[5] = { 'W', 'S', 'L', '1', ' ' };
static const char hexdigit[] = "0123456789abcdef";

/* Header length of the encoding. */
size_t
payload_min_len(enum payload_kind kind)
{
	return kind == PAYLOAD_BINARY ? PAYLOAD_BINARY_HEADER :
	    PAYLOAD_TEXT_HEADER;
}

/* Stores the low `n` bytes of v little-endian. */
static void
put_le(uint8_t *out, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		out[i] = (uint8_t)(v >> (8 * i));
}

/* Reads `n` bytes little-endian. */
static uint64_t
get_le(const uint8_t *in, int n)
{
	uint64_t v = 0;

	for (int i = n - 1; i >= 0; i--)
		v = v << 8 | in[i];
	return v;
}

/* Writes v as `digits` lowercase hex digits; returns the byte after. */
static char *
put_hex(char *out, uint64_t v, int digits)
{
	for (int i = digits - 1; i >= 0; i--) {
		out[i] = hexdigit[v & 0xf];
		v >>= 4;
	}
	return out + digits;
}

/* Reads `digits` lowercase hex digits; -1 on any other character. */
static int
get_hex(const char *in, int digits, uint64_t *v)
{
	*v = 0;
	for (int i = 0; i < digits; i++) {
		char c = in[i];

		if (c >= '0' && c <= '9')
			*v = *v << 4 | (uint64_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			*v = *v << 4 | (uint64_t)(c - 'a' + 10);
		else
			return -1;
	}
	return 0;
}

/* Binary header and filler; len >= PAYLOAD_BINARY_HEADER. */
static void
encode_binary(uint8_t *b, size_t len, const struct payload *p)
{
	memcpy(b, binary_magic, sizeof(binary_magic));
	put_le(b + 4, p->round, 4);
	put_le(b + 8, p->sender, 4);
	put_le(b + 12, p->seq, 8);
	put_le(b + 20, p->sent_ns, 8);
	for (size_t i = PAYLOAD_BINARY_HEADER; i < len; i++)
		b[i] = (uint8_t)i;
}

/* Text header and filler; len >= PAYLOAD_TEXT_HEADER. */
static void
encode_text(char *t, size_t len, const struct payload *p)
{
	char *o = t;

	memcpy(o, text_magic, sizeof(text_magic));
	o = put_hex(o + sizeof(text_magic), p->round, 8);
	*o++ = ' ';
	o = put_hex(o, p->sender, 8);
	*o++ = ' ';
	o = put_hex(o, p->seq, 16);
	*o++ = ' ';
	put_hex(o, p->sent_ns, 16);  /* ends at PAYLOAD_TEXT_HEADER */
	memset(t + PAYLOAD_TEXT_HEADER, '.', len - PAYLOAD_TEXT_HEADER);
}

/* Header then filler, all `len` bytes. */
int
payload_encode(void *buf, size_t len, enum payload_kind kind,
    const struct payload *p)
{
	if (len < payload_min_len(kind))
		return PAYLOAD_ESHORT;
	if (kind == PAYLOAD_BINARY)
		encode_binary(buf, len, p);
	else
		encode_text(buf, len, p);
	return 0;
}

/* The fields of a binary header; magic already checked. */
static int
decode_binary(const uint8_t *b, size_t len, struct payload *p)
{
	if (len < PAYLOAD_BINARY_HEADER)
		return PAYLOAD_ESHORT;
	p->round = (uint32_t)get_le(b + 4, 4);
	p->sender = (uint32_t)get_le(b + 8, 4);
	p->seq = get_le(b + 12, 8);
	p->sent_ns = get_le(b + 20, 8);
	return PAYLOAD_BINARY;
}

/* The fields of a text header; magic already checked. */
static int
decode_text(const char *t, size_t len, struct payload *p)
{
	uint64_t round, sender;

	if (len < PAYLOAD_TEXT_HEADER)
		return PAYLOAD_ESHORT;
	if (get_hex(t + 5, 8, &round) < 0 || t[13] != ' ' ||
	    get_hex(t + 14, 8, &sender) < 0 || t[22] != ' ' ||
	    get_hex(t + 23, 16, &p->seq) < 0 || t[39] != ' ' ||
	    get_hex(t + 40, 16, &p->sent_ns) < 0)
		return PAYLOAD_EFORMAT;
	p->round = (uint32_t)round;
	p->sender = (uint32_t)sender;
	return PAYLOAD_TEXT;
}

/* Picks the encoding by its magic, then decodes. */
int
payload_decode(const void *buf, size_t len, struct payload *p)
{
	const uint8_t *b = buf;
	size_t n = len < sizeof(binary_magic) ? len : sizeof(binary_magic);

	if (memcmp(b, binary_magic, n) == 0)
		return len < sizeof(binary_magic) ? PAYLOAD_ESHORT :
		    decode_binary(b, len, p);
	n = len < sizeof(text_magic) ? len : sizeof(text_magic);
	if (memcmp(b, text_magic, n) == 0)
		return len < sizeof(text_magic) ? PAYLOAD_ESHORT :
		    decode_text(buf, len, p);
	return PAYLOAD_EFORMAT;
}
