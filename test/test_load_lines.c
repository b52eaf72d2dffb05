/* Cutting received messages into lines, for --split-lines (lines.h). */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "../src/load/lines.h"

#define MAX_SEEN 16

/* What lines_fn was called with, call by call. */
struct seen {
	int n;
	uint64_t len[MAX_SEEN];
	size_t prefix_len[MAX_SEEN];
	char prefix[MAX_SEEN][PAYLOAD_PREFIX_MAX + 1];
};

/* lines_fn: records one call. */
static void
record(void *arg, const uint8_t *prefix, size_t prefix_len, uint64_t len)
{
	struct seen *s = arg;

	cr_assert_lt(s->n, MAX_SEEN, "too many lines");
	cr_assert_leq(prefix_len, PAYLOAD_PREFIX_MAX);
	s->len[s->n] = len;
	s->prefix_len[s->n] = prefix_len;
	memcpy(s->prefix[s->n], prefix, prefix_len);
	s->prefix[s->n][prefix_len] = '\0';
	s->n++;
}

/* One whole message `msg`, in one chunk. */
static void
one_message(struct seen *s, bool split, const char *msg)
{
	struct lines l;

	memset(s, 0, sizeof(*s));
	lines_begin(&l, split);
	lines_feed(&l, msg, strlen(msg), record, s);
	lines_end(&l, record, s);
}

Test(load_lines, without_split_a_message_is_one_newlines_and_all,
    .timeout = 10)
{
	struct seen s;

	one_message(&s, false, "a\nbb\n");
	cr_assert_eq(s.n, 1);
	cr_assert_eq(s.len[0], 5);
	cr_assert_str_eq(s.prefix[0], "a\nbb\n");
	one_message(&s, false, "");
	cr_assert_eq(s.n, 1, "an empty message is still one (not ours)");
	cr_assert_eq(s.len[0], 0);
}

Test(load_lines, each_newline_ends_a_line, .timeout = 10)
{
	struct seen s;

	one_message(&s, true, "a\nbb\nccc");
	cr_assert_eq(s.n, 3);
	cr_assert_str_eq(s.prefix[0], "a");
	cr_assert_str_eq(s.prefix[1], "bb");
	cr_assert_str_eq(s.prefix[2], "ccc");
	cr_assert_eq(s.len[2], 3);
}

Test(load_lines, a_trailing_newline_and_empty_lines_are_no_message,
    .timeout = 10)
{
	struct seen s;

	one_message(&s, true, "a\nb\n");
	cr_assert_eq(s.n, 2, "a trailing '\\n' adds nothing");
	one_message(&s, true, "\n\na\n\n\nb\n\n");
	cr_assert_eq(s.n, 2);
	cr_assert_str_eq(s.prefix[0], "a");
	cr_assert_str_eq(s.prefix[1], "b");
	one_message(&s, true, "");
	cr_assert_eq(s.n, 0);
	one_message(&s, true, "\n");
	cr_assert_eq(s.n, 0);
}

Test(load_lines, crlf_ends_a_line_like_a_newline, .timeout = 10)
{
	struct lines l;
	struct seen s = { 0 };

	one_message(&s, true, "a\r\nbb\r\n\r\nc\rd\r");
	cr_assert_eq(s.n, 3, "an empty line between two \"\\r\\n\"");
	cr_assert_str_eq(s.prefix[0], "a");
	cr_assert_eq(s.len[0], 1);
	cr_assert_str_eq(s.prefix[1], "bb");
	cr_assert_str_eq(s.prefix[2], "c\rd\r", "a '\\r' elsewhere stays");
	cr_assert_eq(s.len[2], 4);

	/* Its '\r' and '\n' in two chunks; a long line's '\r' is past the
	 * prefix, so only its length changes. */
	char big[200];

	memset(big, 'x', sizeof(big));
	big[sizeof(big) - 1] = '\r';
	memset(&s, 0, sizeof(s));
	lines_begin(&l, true);
	lines_feed(&l, "ab\r", 3, record, &s);
	lines_feed(&l, "\n", 1, record, &s);
	lines_feed(&l, big, sizeof(big), record, &s);
	lines_feed(&l, "\n", 1, record, &s);
	lines_end(&l, record, &s);
	cr_assert_eq(s.n, 2);
	cr_assert_str_eq(s.prefix[0], "ab");
	cr_assert_eq(s.len[0], 2);
	cr_assert_eq(s.len[1], sizeof(big) - 1);
	cr_assert_eq(s.prefix_len[1], PAYLOAD_PREFIX_MAX);

	one_message(&s, false, "a\r\n");
	cr_assert_eq(s.len[0], 3, "without split nothing is cut");
}

Test(load_lines, a_long_line_keeps_its_prefix_and_its_length,
    .timeout = 10)
{
	char msg[300];
	struct seen s;

	memset(msg, 'x', 200);
	memcpy(msg + 200, "\nyz", 4);
	one_message(&s, true, msg);
	cr_assert_eq(s.n, 2);
	cr_assert_eq(s.len[0], 200);
	cr_assert_eq(s.prefix_len[0], PAYLOAD_PREFIX_MAX);
	cr_assert_eq(s.len[1], 2);
	cr_assert_str_eq(s.prefix[1], "yz");
}

Test(load_lines, a_new_message_forgets_an_unfinished_line, .timeout = 10)
{
	struct lines l;
	struct seen s = { 0 };

	lines_begin(&l, true);
	lines_feed(&l, "abc\nde", 6, record, &s);
	lines_begin(&l, true);
	lines_feed(&l, "f", 1, record, &s);
	lines_end(&l, record, &s);
	cr_assert_eq(s.n, 2);
	cr_assert_str_eq(s.prefix[0], "abc");
	cr_assert_str_eq(s.prefix[1], "f");
}

/*
 * Three real payloads joined the way Gorilla's writePump joins them,
 * handed over in three chunks cut at every pair of places (a line, and
 * a '\n', may be cut anywhere): always the same three messages.
 */
Test(load_lines, payloads_cut_anywhere_come_out_whole, .timeout = 30)
{
	char msg[3 * 64 + 2];
	size_t n = sizeof(msg);

	for (int i = 0; i < 3; i++) {
		struct payload p = { .round = 1, .sender = 2,
		    .seq = (uint64_t)i, .sent_ns = 99 };

		payload_encode(msg + 65 * i, 64, PAYLOAD_TEXT, &p);
		if (i < 2)
			msg[65 * i + 64] = '\n';
	}
	for (size_t a = 0; a <= n; a++)
		for (size_t b = a; b <= n; b++) {
			struct lines l;
			struct seen s = { 0 };
			struct payload out;

			lines_begin(&l, true);
			lines_feed(&l, msg, a, record, &s);
			lines_feed(&l, msg + a, b - a, record, &s);
			lines_feed(&l, msg + b, n - b, record, &s);
			lines_end(&l, record, &s);
			cr_assert_eq(s.n, 3, "cut at %zu and %zu", a, b);
			for (int i = 0; i < 3; i++) {
				cr_assert_eq(s.len[i], 64);
				cr_assert_eq(payload_decode(s.prefix[i],
				    s.prefix_len[i], &out), PAYLOAD_TEXT);
				cr_assert_eq(out.seq, (uint64_t)i);
			}
		}
}
