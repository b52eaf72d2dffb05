/* wshub-load's message payloads (src/load/payload.h). */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "../src/load/payload.h"

static const struct payload sample = {
	.round = 7, .sender = 4242, .seq = 123456789012ULL,
	.sent_ns = 0x0123456789abcdefULL,
};

/* Encodes `p` as `kind` in `len` bytes, decodes it back, compares. */
static void
round_trip(enum payload_kind kind, size_t len, const struct payload *p)
{
	uint8_t buf[4096];
	struct payload out;

	cr_assert_eq(payload_encode(buf, len, kind, p), 0);
	cr_assert_eq(payload_decode(buf, len, &out), (int)kind);
	cr_assert_eq(out.round, p->round);
	cr_assert_eq(out.sender, p->sender);
	cr_assert_eq(out.seq, p->seq);
	cr_assert_eq(out.sent_ns, p->sent_ns);
}

Test(load_payload, round_trips, .timeout = 10)
{
	struct payload zero = { 0, 0, 0, 0 };
	struct payload max = { UINT32_MAX, UINT32_MAX, UINT64_MAX, UINT64_MAX };

	for (int k = PAYLOAD_TEXT; k <= PAYLOAD_BINARY; k++) {
		size_t min = payload_min_len((enum payload_kind)k);

		round_trip((enum payload_kind)k, min, &sample);
		round_trip((enum payload_kind)k, min + 1, &sample);
		round_trip((enum payload_kind)k, 4096, &sample);
		round_trip((enum payload_kind)k, 64, &zero);
		round_trip((enum payload_kind)k, 64, &max);
	}
}

Test(load_payload, header_lengths, .timeout = 10)
{
	cr_assert_eq(payload_min_len(PAYLOAD_TEXT), PAYLOAD_TEXT_HEADER);
	cr_assert_eq(payload_min_len(PAYLOAD_BINARY), PAYLOAD_BINARY_HEADER);
	cr_assert_leq(PAYLOAD_BINARY_HEADER, PAYLOAD_PREFIX_MAX);
	cr_assert_leq(PAYLOAD_TEXT_HEADER, PAYLOAD_PREFIX_MAX);
}

Test(load_payload, text_layout, .timeout = 10)
{
	char buf[64];
	static const char want[] =
	    "WSL1 00000007 00001092 0000001cbe991a14 0123456789abcdef";

	cr_assert_eq(payload_encode(buf, sizeof(buf), PAYLOAD_TEXT, &sample),
	    0);
	cr_assert_arr_eq(buf, want, PAYLOAD_TEXT_HEADER);
	cr_assert_eq(buf[PAYLOAD_TEXT_HEADER], '.');
	cr_assert_eq(buf[63], '.');
	for (size_t i = 0; i < sizeof(buf); i++)  /* ASCII: valid UTF-8 */
		cr_assert(buf[i] >= 0x20 && buf[i] < 0x7f, "byte %zu", i);
}

Test(load_payload, binary_layout, .timeout = 10)
{
	uint8_t buf[32];
	static const uint8_t want[PAYLOAD_BINARY_HEADER] = {
		0xf7, 'W', 'L', '1',
		7, 0, 0, 0,
		0x92, 0x10, 0, 0,
		0x14, 0x1a, 0x99, 0xbe, 0x1c, 0, 0, 0,
		0xef, 0xcd, 0xab, 0x89, 0x67, 0x45, 0x23, 0x01,
	};

	cr_assert_eq(payload_encode(buf, sizeof(buf), PAYLOAD_BINARY,
	    &sample), 0);
	cr_assert_arr_eq(buf, want, sizeof(want), "little-endian fields");
}

Test(load_payload, too_short_to_encode, .timeout = 10)
{
	uint8_t buf[PAYLOAD_TEXT_HEADER];

	memset(buf, 'x', sizeof(buf));
	cr_assert_eq(payload_encode(buf, PAYLOAD_TEXT_HEADER - 1, PAYLOAD_TEXT,
	    &sample), PAYLOAD_ESHORT);
	cr_assert_eq(payload_encode(buf, PAYLOAD_BINARY_HEADER - 1,
	    PAYLOAD_BINARY, &sample), PAYLOAD_ESHORT);
	for (size_t i = 0; i < sizeof(buf); i++)
		cr_assert_eq(buf[i], 'x', "buffer untouched on error");
}

/* The encoder writes exactly `len` bytes, not one more, at every length. */
Test(load_payload, stays_inside_the_buffer, .timeout = 10)
{
	uint8_t buf[PAYLOAD_TEXT_HEADER + 3];

	for (int k = PAYLOAD_TEXT; k <= PAYLOAD_BINARY; k++) {
		size_t min = payload_min_len((enum payload_kind)k);

		for (size_t len = min; len < min + 2; len++) {
			memset(buf, 'x', sizeof(buf));
			cr_assert_eq(payload_encode(buf, len,
			    (enum payload_kind)k, &sample), 0);
			cr_assert_eq(buf[len], 'x', "kind %d, %zu bytes: "
			    "byte %zu written", k, len, len);
		}
	}
}

/*
 * A text payload holds no '\n', whatever its numbers and length, so that
 * --split-lines (lines.h) finds each one whole between the '\n' a server
 * joins them with.
 */
Test(load_payload, text_has_no_newline, .timeout = 10)
{
	const struct payload ps[] = { sample, { 0, 0, 0, 0 },
	    { UINT32_MAX, UINT32_MAX, UINT64_MAX, UINT64_MAX },
	    { 0x0a0a0a0a, 0x0a, 0x0a0a, 0x0a0a0a0a0a0a0a0aULL } };
	char buf[300];

	for (size_t i = 0; i < sizeof(ps) / sizeof(ps[0]); i++)
		for (size_t len = PAYLOAD_TEXT_HEADER; len <= sizeof(buf);
		    len++) {
			payload_encode(buf, len, PAYLOAD_TEXT, &ps[i]);
			cr_assert_null(memchr(buf, '\n', len),
			    "payload %zu, %zu bytes", i, len);
		}
}

Test(load_payload, prefixes, .timeout = 10)
{
	uint8_t buf[128];
	struct payload out;

	/* A decoder given just the header decodes; one byte less is short. */
	payload_encode(buf, sizeof(buf), PAYLOAD_TEXT, &sample);
	cr_assert_eq(payload_decode(buf, PAYLOAD_TEXT_HEADER, &out),
	    PAYLOAD_TEXT);
	cr_assert_eq(payload_decode(buf, PAYLOAD_TEXT_HEADER - 1, &out),
	    PAYLOAD_ESHORT);
	cr_assert_eq(payload_decode(buf, 3, &out), PAYLOAD_ESHORT);
	payload_encode(buf, sizeof(buf), PAYLOAD_BINARY, &sample);
	cr_assert_eq(payload_decode(buf, PAYLOAD_BINARY_HEADER, &out),
	    PAYLOAD_BINARY);
	cr_assert_eq(payload_decode(buf, PAYLOAD_BINARY_HEADER - 1, &out),
	    PAYLOAD_ESHORT);
	cr_assert_eq(payload_decode(buf, 0, &out), PAYLOAD_ESHORT);
}

Test(load_payload, foreign_messages_are_rejected, .timeout = 10)
{
	char buf[80];
	struct payload out;

	cr_assert_eq(payload_decode("hello, world", 12, &out), PAYLOAD_EFORMAT);
	cr_assert_eq(payload_decode("\xf7WX1", 4, &out), PAYLOAD_EFORMAT);
	payload_encode(buf, sizeof(buf), PAYLOAD_TEXT, &sample);
	buf[6] = 'A';  /* uppercase hex is not ours */
	cr_assert_eq(payload_decode(buf, sizeof(buf), &out), PAYLOAD_EFORMAT);
	payload_encode(buf, sizeof(buf), PAYLOAD_TEXT, &sample);
	buf[22] = '-';  /* separator */
	cr_assert_eq(payload_decode(buf, sizeof(buf), &out), PAYLOAD_EFORMAT);
}
