/*
 * bridge_url: a URL shown without its password, and the password file's
 * rules, each at its edge (the longest password taken, one byte more
 * refused).
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wshub/bridge_url.h"

Test(bridge_url, a_url_is_shown_without_its_password)
{
	static const struct {
		const char *url, *shown;
	} cases[] = {
		{ "redis://127.0.0.1:6379", "redis://127.0.0.1:6379" },
		{ "redis://:s3cret@h:1/2", "redis://:***@h:1/2" },
		{ "redis://alice:s3cret@h", "redis://alice:***@h" },
		{ "redis://:p@ss:w@rd@h", "redis://:***@h" },
		{ "redis://s3cret@h", "redis://***@h" },      /* no ':' */
		{ "redis:/:s3cret@h", "redis:***@h" },        /* no "//" */
		{ "rediss://:s3cret@h", "rediss://:***@h" },
		{ "x:a//s3cret@h", "x:***@h" },
		{ ":s3cret@", ":***@" },
	};
	char out[128];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bridge_redact_url(cases[i].url, out, sizeof(out));
		cr_expect_str_eq(out, cases[i].shown, "%s", cases[i].url);
		cr_expect_null(strstr(out, "s3cret"), "%s", out);
	}
}

/* Writes `len` bytes into a new temporary file; its path in `path`. */
static void
password_file(char path[64], const void *data, size_t len)
{
	int fd;

	strlcpy(path, "/tmp/wshub-test-password-XXXXXX", 64);
	cr_assert_geq(fd = mkstemp(path), 0);
	cr_assert_eq(write(fd, data, len), (ssize_t)len);
	close(fd);
}

Test(bridge_url, a_password_file_is_one_line_of_at_most_255_bytes)
{
	static char long_line[300], max_line[257];
	static const struct {
		const char *data;
		size_t len;
		const char *password;  /* NULL: refused */
	} cases[] = {
		{ "s3cret", 6, "s3cret" },
		{ "s3cret\n", 7, "s3cret" },
		{ "s3cret\r\n", 8, "s3cret" },
		{ "with space\t#\n", 13, "with space\t#" },
		{ "", 0, NULL },
		{ "\n", 1, NULL },
		{ "s3cret\nmore\n", 12, NULL },
		{ "s3cret\n\n", 8, NULL },
		{ "s3\0cret\n", 8, NULL },
		{ long_line, sizeof(long_line), NULL },
		{ max_line, 256, max_line },   /* 255 bytes and "\n" */
		{ max_line, 257, NULL },       /* 256 bytes and "\n" */
	};
	char path[64], out[BRIDGE_PASSWORD_MAX], err[256];

	memset(long_line, 'p', sizeof(long_line));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc;

		memset(max_line, 'p', sizeof(max_line));
		if (cases[i].data == max_line)
			max_line[cases[i].len - 1] = '\n';
		password_file(path, cases[i].data, cases[i].len);
		err[0] = '\0';
		rc = bridge_read_password_file(path, out, sizeof(out), err,
		    sizeof(err));
		unlink(path);
		if (cases[i].password == NULL) {
			cr_expect_eq(rc, -1, "case %zu taken", i);
			cr_expect(strstr(err, "s3") == NULL &&
			    strstr(err, "ppp") == NULL, "case %zu: %s", i, err);
			continue;
		}
		cr_expect_eq(rc, 0, "case %zu: %s", i, err);
		if (cases[i].data == max_line)
			cr_expect_eq(strlen(out), 255, "case %zu", i);
		else
			cr_expect_str_eq(out, cases[i].password, "case %zu", i);
	}
	cr_expect_eq(bridge_read_password_file("/nonexistent/file", out,
	    sizeof(out), err, sizeof(err)), -1);
	cr_expect_eq(bridge_read_password_file("/tmp", out, sizeof(out), err,
	    sizeof(err)), -1, "a directory");
}

