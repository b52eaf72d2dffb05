/*
 * utf8: against a reference written from the definition (decode the code
 * point, then refuse overlong forms, surrogates and anything past
 * U+10FFFF), for every sequence of one to three bytes and a wide sample
 * of four; RFC 3629's own examples; streams split at every point.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "wshub/utf8.h"

/* How many bytes the character at s[0..len) takes, 0 if invalid. */
static size_t
reference_char(const uint8_t *s, size_t len)
{
	static const uint32_t min[5] = { 0, 0, 0x80, 0x800, 0x10000 };
	size_t n = s[0] < 0x80 ? 1 : (s[0] & 0xe0) == 0xc0 ? 2 :
	    (s[0] & 0xf0) == 0xe0 ? 3 : (s[0] & 0xf8) == 0xf0 ? 4 : 0;
	uint32_t cp;

	if (n == 0 || n > len)
		return 0;
	cp = n == 1 ? s[0] : s[0] & (0x7f >> n);
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < min[n] || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return n;
}

static bool
reference_valid(const uint8_t *s, size_t len)
{
	size_t i = 0, n;

	while (i < len) {
		if ((n = reference_char(s + i, len - i)) == 0)
			return false;
		i += n;
	}
	return true;
}

static void
agree(const uint8_t *s, size_t len)
{
	bool want = reference_valid(s, len);

	if (utf8_valid(s, len) != want)
		cr_assert_fail("%zu bytes %02x %02x %02x %02x: utf8_valid says %d",
		    len, s[0], len > 1 ? s[1] : 0, len > 2 ? s[2] : 0,
		    len > 3 ? s[3] : 0, !want);
}

Test(utf8, every_sequence_of_up_to_three_bytes)
{
	uint8_t s[3];

	for (uint32_t v = 0; v < 1u << 24; v++) {
		s[0] = (uint8_t)(v >> 16);
		s[1] = (uint8_t)(v >> 8);
		s[2] = (uint8_t)v;
		if ((v & 0xffff) == 0)
			agree(s, 1);
		if ((v & 0xff) == 0)
			agree(s, 2);
		agree(s, 3);
	}
}

Test(utf8, four_bytes_each_lead_and_second_with_edge_continuations)
{
	static const uint8_t edge[] = { 0x00, 0x7f, 0x80, 0x8f, 0x90, 0xbf,
	    0xc0, 0xff };
	uint8_t s[4];

	for (unsigned lead = 0xe0; lead <= 0xff; lead++)
		for (unsigned second = 0; second <= 0xff; second++)
			for (size_t i = 0; i < sizeof(edge); i++)
				for (size_t j = 0; j < sizeof(edge); j++) {
					s[0] = (uint8_t)lead;
					s[1] = (uint8_t)second;
					s[2] = edge[i];
					s[3] = edge[j];
					agree(s, 4);
				}
}

Test(utf8, rfc_3629_examples_and_the_edges)
{
	static const struct {
		const char *s;
		bool ok;
	} cases[] = {
		{ "", true },
		{ "A\xe2\x89\xa2\xce\x91.", true },        /* RFC 3629 §7 */
		{ "\xed\x95\x9c\xea\xb5\xad\xec\x96\xb4", true },
		{ "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", true },
		{ "\xef\xbb\xbf\xf0\xa3\x8e\xb4", true },
		{ "\x7f", true }, { "\xc2\x80", true }, { "\xdf\xbf", true },
		{ "\xe0\xa0\x80", true }, { "\xed\x9f\xbf", true },
		{ "\xee\x80\x80", true }, { "\xef\xbf\xbf", true },
		{ "\xf0\x90\x80\x80", true }, { "\xf4\x8f\xbf\xbf", true },
		{ "\x80", false }, { "\xbf", false },      /* a lone tail */
		{ "\xc0\xaf", false }, { "\xc1\xbf", false }, /* overlong */
		{ "\xe0\x80\xaf", false }, { "\xe0\x9f\xbf", false },
		{ "\xf0\x80\x80\xaf", false }, { "\xf0\x8f\xbf\xbf", false },
		{ "\xed\xa0\x80", false }, { "\xed\xbf\xbf", false }, /* surrogates */
		{ "\xf4\x90\x80\x80", false }, { "\xf5\x80\x80\x80", false },
		{ "\xff", false }, { "\xfe", false },
		{ "\xc2", false }, { "\xe2\x82", false }, { "\xf0\x9f\x98", false },
		{ "\xc2\x41", false }, { "ok\xe2\x82\xac ok", true },
		{ "12345678\x80", false }, { "1234567\xc3\xa9", true },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		cr_expect_eq(utf8_valid(cases[i].s, strlen(cases[i].s)),
		    cases[i].ok, "case %zu", i);
}

/* Long texts: the ASCII fast path, and a bad byte at every offset. */
Test(utf8, long_texts_with_one_bad_byte_anywhere)
{
	uint8_t s[67];

	for (size_t len = 0; len <= sizeof(s); len++) {
		memset(s, 'a', len);
		cr_assert(utf8_valid(s, len));
		for (size_t at = 0; at < len; at++) {
			s[at] = 0x80;
			cr_assert(!utf8_valid(s, len), "len %zu at %zu", len, at);
			s[at] = 'a';
		}
	}
}

/* A stream split anywhere says what the whole says. */
Test(utf8, a_stream_split_at_every_point)
{
	static const char *texts[] = {
		"h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80!", "\xe2\x82",
		"ab\xed\xa0\x80", "\xf0\x9f\x98\x80\xf0\x9f\x98",
		"0123456789abcdef\xe2\x82\xac" "0123456789abcdef",
	};

	for (size_t t = 0; t < sizeof(texts) / sizeof(texts[0]); t++) {
		size_t len = strlen(texts[t]);
		bool whole = utf8_valid(texts[t], len);

		for (size_t a = 0; a <= len; a++)
			for (size_t b = a; b <= len; b++) {
				struct utf8_scan s;
				bool ok;

				utf8_scan_init(&s);
				ok = utf8_scan(&s, texts[t], a) &&
				    utf8_scan(&s, texts[t] + a, b - a) &&
				    utf8_scan(&s, texts[t] + b, len - b) &&
				    utf8_scan_done(&s);
				cr_assert_eq(ok, whole, "text %zu split at %zu, %zu",
				    t, a, b);
			}
	}
}
