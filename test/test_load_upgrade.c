/*
 * wshub-load's side of the opening handshake (src/load/upgrade.h): what a
 * refusal says.  The report shows the server's reason, so it is read from
 * the body the Content-Length announces, or the status line without one,
 * and made safe to print.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "../src/load/upgrade.h"

#define REFUSAL(body) \
	"HTTP/1.1 400 Bad Request\r\n" \
	"Content-Type: text/plain; charset=utf-8\r\n" \
	"Content-Length: " #body "\r\n" \
	"Connection: close\r\n\r\n"

/* The reason upgrade_refusal_reason finds in the NUL-terminated `resp`. */
static const char *
reason(const char *resp)
{
	static char out[UPGRADE_REASON_MAX + 1];

	memset(out, 'x', sizeof(out));
	upgrade_refusal_reason(resp, strlen(resp), out);
	return out;
}

Test(load_upgrade, a_refusal_reads_as_far_as_its_content_length,
    .timeout = 10)
{
	const char *head = REFUSAL(44);
	const char *full = REFUSAL(44)
	    "a room name may hold only A-Z a-z 0-9 . _ -\n";

	cr_assert_eq(upgrade_check(head, strlen(head), "x"), UPGRADE_ESTATUS);
	cr_assert_eq(upgrade_refusal_len(head, strlen(head)), strlen(full));
	cr_assert_eq(upgrade_refusal_len(full, strlen(full)), strlen(full));
	/* Without a Content-Length the header block is all it waits for. */
	cr_assert_eq(upgrade_refusal_len("HTTP/1.1 503 Busy\r\n\r\nfull", 25),
	    21);
	/* An absurd length is capped by the caller's buffer, not computed. */
	cr_assert_eq(upgrade_refusal_len(REFUSAL(99999999999999999999),
	    strlen(REFUSAL(99999999999999999999))), SIZE_MAX);
}

Test(load_upgrade, the_reason_is_the_bodys_first_line, .timeout = 10)
{
	cr_assert_str_eq(reason(REFUSAL(44)
	    "a room name may hold only A-Z a-z 0-9 . _ -\n"),
	    "a room name may hold only A-Z a-z 0-9 . _ -");
	cr_assert_str_eq(reason(REFUSAL(40)
	    "  \r\nfirst line  \r\nsecond line\r\n"), "first line");
	/* Bytes past the Content-Length are not the body. */
	cr_assert_str_eq(reason(REFUSAL(0) "HTTP/1.1 200 OK\r\n"),
	    "Bad Request");
}

Test(load_upgrade, without_a_body_the_reason_phrase, .timeout = 10)
{
	cr_assert_str_eq(reason("HTTP/1.1 503 Service Unavailable\r\n"
	    "Retry-After: 1\r\n\r\n"), "Service Unavailable");
	/* The headers have not all arrived: the status line still says. */
	cr_assert_str_eq(reason("HTTP/1.1 404 Not Found\r\nContent-"),
	    "Not Found");
	cr_assert_str_eq(reason("HTTP/1.1 403\r\n\r\n"), "");
	cr_assert_str_eq(reason("HTTP/1.1 40"), "");
	cr_assert_str_eq(reason("SSH-2.0-OpenSSH\r\n\r\n"), "");
}

Test(load_upgrade, the_reason_is_cut_and_printable, .timeout = 10)
{
	char resp[512], want[UPGRADE_REASON_MAX + 1];

	snprintf(resp, sizeof(resp), "HTTP/1.1 400 Bad Request\r\n\r\n%s\n",
	    "no\033[2J escapes\x7f or \xc3\xa9 here");
	cr_assert_str_eq(reason(resp), "no?[2J escapes? or ?? here");
	memset(want, 'a', UPGRADE_REASON_MAX);
	want[UPGRADE_REASON_MAX] = '\0';
	snprintf(resp, sizeof(resp), "HTTP/1.1 400 Bad Request\r\n\r\n%.*sbbb",
	    UPGRADE_REASON_MAX, want);
	cr_assert_eq(strlen(reason(resp)), UPGRADE_REASON_MAX);
	cr_assert_eq(strchr(reason(resp), 'b'), NULL);
}
