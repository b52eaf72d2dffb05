/* msg: immutable, reference-counted frames (include/wshub/msg.h). */
#include <criterion/criterion.h>
#include <string.h>

#include "support/stress.h"
#include "wshub/msg.h"
#include "wshub/xmalloc.h"

/* Checks the RFC 6455 §5.2 header of an unmasked final frame. */
static void
check_frame(size_t len, size_t want_header, uint8_t want_len7)
{
	uint8_t *payload = xmalloc(len);
	msg_t *m;
	const uint8_t *w;

	for (size_t i = 0; i < len; i++)
		payload[i] = (uint8_t)(i * 7);
	m = msg_new_frame(MSG_BINARY, payload, len);
	w = msg_wire(m);
	cr_assert_eq(msg_wire_len(m), want_header + len, "len %zu", len);
	cr_assert_eq(w[0], 0x82, "FIN + binary");
	cr_assert_eq(w[1], want_len7, "MASK clear, 7-bit length for %zu", len);
	if (want_header == 4)
		cr_assert_eq((size_t)(w[2] << 8 | w[3]), len);
	if (want_header == 10) {
		uint64_t l = 0;
		for (int i = 0; i < 8; i++)
			l = l << 8 | w[2 + i];
		cr_assert_eq(l, len);
	}
	cr_assert_eq(msg_payload_len(m), len);
	cr_assert(len == 0 || memcmp(msg_payload(m), payload, len) == 0);
	cr_assert_eq(msg_opcode(m), MSG_BINARY);
	msg_unref(m);
	free(payload);
}

Test(msg, frame_header_lengths, .timeout = 10)
{
	check_frame(0, 2, 0);
	check_frame(125, 2, 125);
	check_frame(126, 4, 126);
	check_frame(65535, 4, 126);
	check_frame(65536, 10, 127);
	check_frame(200000, 10, 127);
}

Test(msg, text_frame_bytes, .timeout = 10)
{
	msg_t *m = msg_new_frame(MSG_TEXT, "Hello", 5);
	static const uint8_t want[] = { 0x81, 0x05, 'H', 'e', 'l', 'l', 'o' };

	/* The unmasked "Hello" example of RFC 6455 §5.7. */
	cr_assert_eq(msg_wire_len(m), sizeof(want));
	cr_assert_arr_eq(msg_wire(m), want, sizeof(want));
	msg_unref(m);
}

Test(msg, close_frame_code_and_reason, .timeout = 10)
{
	msg_t *m = msg_new_close(1001, "going away");
	const uint8_t *w = msg_wire(m);

	cr_assert_eq(w[0], 0x88);
	cr_assert_eq(w[1], 12);
	cr_assert_eq(w[2] << 8 | w[3], 1001);
	cr_assert_arr_eq(w + 4, "going away", 10);
	cr_assert_eq(msg_opcode(m), MSG_CLOSE);
	msg_unref(m);

	m = msg_new_close(0, "ignored");
	cr_assert_eq(msg_wire_len(m), 2);
	cr_assert_eq(msg_wire(m)[1], 0);
	msg_unref(m);
}

Test(msg, close_reason_truncated_at_character_boundary, .timeout = 10)
{
	char reason[200];
	msg_t *m;

	/* 'a' then 2-byte characters: byte 123 would split one. */
	reason[0] = 'a';
	for (int i = 1; i < 199; i += 2) {
		reason[i] = (char)0xc3;
		reason[i + 1] = (char)0xa9; /* é */
	}
	reason[199] = '\0';
	m = msg_new_close(1000, reason);
	cr_assert_eq(msg_payload_len(m), 2 + 123);
	cr_assert_eq((uint8_t)msg_payload(m)[2 + 122], 0xa9,
	    "the reason ends on a whole character");
	msg_unref(m);
}

Test(msg, encoded_bytes_keep_opcode, .timeout = 10)
{
	static const uint8_t pong[] = { 0x8a, 0x00 };
	msg_t *m = msg_new_encoded(MSG_PONG, pong, sizeof(pong));

	cr_assert_eq(msg_wire_len(m), 2);
	cr_assert_arr_eq(msg_wire(m), pong, 2);
	cr_assert_eq(msg_opcode(m), MSG_PONG);
	msg_unref(m);
}

Test(msg, ref_and_unref_free_once, .timeout = 10)
{
	long base = msg_live();
	msg_t *m = msg_new_frame(MSG_TEXT, "x", 1);

	cr_assert_eq(msg_live(), base + 1);
	cr_assert_eq(msg_ref(m), m);
	msg_unref(m);
	cr_assert_eq(msg_live(), base + 1, "one reference is still held");
	msg_unref(m);
	cr_assert_eq(msg_live(), base);
	msg_unref(NULL);
}

Test(msg, concurrent_unref_frees_exactly_once, .timeout = 60)
{
	cr_assert_eq(stress_msg_unref(16, 20000), 0);
}
