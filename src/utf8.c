/* utf8 — RFC 3629 validation (see utf8.h). */
#include <string.h>

#include "wshub/utf8.h"

#define ASCII_MASK 0x8080808080808080ULL

void
utf8_scan_init(struct utf8_scan *s)
{
	*s = (struct utf8_scan){ .need = 0, .lo = 0x80, .hi = 0xbf };
}

/* Past the whole 8-byte words of ASCII at p: the fast path between
 * characters. */
static const uint8_t *
ascii_words(const uint8_t *p, const uint8_t *end)
{
	uint64_t w;

	while ((size_t)(end - p) >= 8) {
		memcpy(&w, p, sizeof(w));
		if ((w & ASCII_MASK) != 0)
			break;
		p += 8;
	}
	return p;
}

/*
 * The table of RFC 3629 §4, byte by byte: a lead byte says how many
 * continuation bytes follow and, for E0, ED, F0 and F4, narrows the range
 * of the first one (no overlongs, no surrogates, nothing past U+10FFFF);
 * every other continuation byte is 80-BF.  C0, C1 and F5-FF never occur.
 */
bool
utf8_scan(struct utf8_scan *s, const void *buf, size_t len)
{
	const uint8_t *p = buf, *end = p + len;
	uint8_t need = s->need, lo = s->lo, hi = s->hi;

	while (p < end) {
		uint8_t b;

		if (need == 0)
			p = ascii_words(p, end);
		if (p == end)
			break;
		b = *p++;
		if (need > 0) {
			if (b < lo || b > hi)
				return false;
			need--;
			lo = 0x80;
			hi = 0xbf;
		} else if (b < 0x80)
			continue;
		else if (b >= 0xc2 && b <= 0xdf)
			need = 1;
		else if (b >= 0xe0 && b <= 0xef) {
			need = 2;
			lo = b == 0xe0 ? 0xa0 : 0x80; /* U+0800 at least */
			hi = b == 0xed ? 0x9f : 0xbf; /* below U+D800 */
		} else if (b >= 0xf0 && b <= 0xf4) {
			need = 3;
			lo = b == 0xf0 ? 0x90 : 0x80; /* U+10000 at least */
			hi = b == 0xf4 ? 0x8f : 0xbf; /* U+10FFFF at most */
		} else
			return false; /* 80-C1 with nothing to continue, F5-FF */
	}
	s->need = need;
	s->lo = lo;
	s->hi = hi;
	return true;
}

bool
utf8_scan_done(const struct utf8_scan *s)
{
	return s->need == 0;
}

bool
utf8_valid(const void *buf, size_t len)
{
	struct utf8_scan s;

	utf8_scan_init(&s);
	return utf8_scan(&s, buf, len) && utf8_scan_done(&s);
}
