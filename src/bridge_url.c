/* bridge_url — the Redis URL and password (see bridge_url.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "wshub/bridge_url.h"

/* Copies s[0..len) into out (size bytes); -1 if it does not fit. */
static int
copy_part(char *out, size_t size, const char *s, size_t len)
{
	if (len >= size)
		return -1;
	memcpy(out, s, len);
	out[len] = '\0';
	return 0;
}

/* A decimal number s[0..len) in [lo, hi]; -1 if it is not one. */
static long
parse_number(const char *s, size_t len, long lo, long hi)
{
	long v = 0;

	if (len == 0 || len > 9)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v < lo || v > hi ? -1 : v;
}

/* "[[USER]:PASSWORD@]": fills user and password; returns what follows. */
static const char *
parse_credentials(const char *s, struct bridge_url *u, const char **why)
{
	const char *at = strrchr(s, '@'), *colon;

	if (at == NULL)
		return s;
	colon = memchr(s, ':', (size_t)(at - s));
	if (colon == NULL) {
		*why = "credentials must be ':PASSWORD@' or 'USER:PASSWORD@'";
		return NULL;
	}
	if (copy_part(u->user, sizeof(u->user), s, (size_t)(colon - s)) != 0 ||
	    copy_part(u->password, sizeof(u->password), colon + 1,
	    (size_t)(at - colon - 1)) != 0) {
		*why = "user or password too long";
		return NULL;
	}
	return at + 1;
}

int
bridge_parse_url(const char *url, struct bridge_url *u, char *err,
    size_t errlen)
{
	const char *why = NULL, *s, *end, *port, *db;

	memset(u, 0, sizeof(*u));
	u->port = 6379;
	if (strncmp(url, "redis://", 8) != 0) {
		snprintf(err, errlen, "must start with redis://");
		return -1;
	}
	if ((s = parse_credentials(url + 8, u, &why)) == NULL)
		goto bad;
	db = strchr(s, '/');
	end = db ? db : s + strlen(s);
	port = memchr(s, ':', (size_t)(end - s));
	if (copy_part(u->host, sizeof(u->host), s,
	    (size_t)((port ? port : end) - s)) != 0 || u->host[0] == '\0') {
		why = "no host (redis://HOST[:PORT][/DB])";
		goto bad;
	}
	if (port && (u->port = (int)parse_number(port + 1,
	    (size_t)(end - port - 1), 1, 65535)) < 0) {
		why = "the port is not a number from 1 to 65535";
		goto bad;
	}
	if (db && (u->db = (int)parse_number(db + 1, strlen(db + 1), 0,
	    1000000)) < 0) {
		why = "the database is not a number";
		goto bad;
	}
	return 0;
bad:
	snprintf(err, errlen, "%s", why);
	return -1;
}

/* Length of a URL scheme followed by "://" at the start of s, else 0. */
static size_t
scheme_len(const char *s)
{
	size_t i = 0;

	if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
		return 0;
	while (s[i] != '\0' && strchr("abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-", s[i]) != NULL)
		i++;
	return strncmp(s + i, "://", 3) == 0 ? i + 3 : 0;
}

const char *
bridge_redact_url(const char *url, char *out, size_t size)
{
	const char *start = url + scheme_len(url), *at = strrchr(start, '@');
	const char *colon;

	if (at == NULL) {
		snprintf(out, size, "%s", url);
		return out;
	}
	colon = memchr(start, ':', (size_t)(at - start));
	snprintf(out, size, "%.*s***%s", (int)((colon ? colon + 1 : start) - url),
	    url, at);
	return out;
}

/* Reads `fd` until its end or until buf (size bytes) is full; the number
 * of bytes in *len.  0, or -1 with the reason in err. */
static int
read_bounded(int fd, char *buf, size_t size, size_t *len, char *err,
    size_t errlen)
{
	*len = 0;
	while (*len < size) {
		ssize_t n = read(fd, buf + *len, size - *len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, errlen, "cannot read it: %s", strerror(errno));
			return -1;
		}
		if (n == 0)
			break;
		*len += (size_t)n;
	}
	return 0;
}

/* What is wrong with a password file whose first len bytes (of a buffer
 * of size: len == size means it may be longer) are buf, for a password
 * buffer of out_size; NULL if nothing, with the password's length in
 * *plen. */
static const char *
password_problem(const char *buf, size_t len, size_t size, size_t out_size,
    size_t *plen)
{
	const char *eol = memchr(buf, '\n', len);

	*plen = eol ? (size_t)(eol - buf) : len;
	if (*plen > 0 && buf[*plen - 1] == '\r')
		(*plen)--;
	if (eol && (size_t)(eol - buf) + 1 < len)
		return "more than one line (the password is the only line)";
	if (*plen >= BRIDGE_PASSWORD_MAX || *plen >= out_size ||
	    (!eol && len == size))
		return "longer than 255 bytes";
	if (*plen == 0)
		return "empty";
	if (memchr(buf, '\0', *plen) != NULL)
		return "a NUL byte in the password";
	return NULL;
}

int
bridge_read_password_file(const char *path, char *out, size_t size,
    char *err, size_t errlen)
{
	/* The longest file taken: the password, then "\r\n". */
	char buf[BRIDGE_PASSWORD_MAX + 2];
	const char *why = NULL;
	size_t len, plen;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY), rc;

	if (fd < 0) {
		snprintf(err, errlen, "cannot open it: %s", strerror(errno));
		return -1;
	}
	rc = read_bounded(fd, buf, sizeof(buf), &len, err, errlen);
	close(fd);
	if (rc == 0 && (why = password_problem(buf, len, sizeof(buf), size,
	    &plen)) != NULL)
		snprintf(err, errlen, "%s", why);
	if (rc == 0 && why == NULL) {
		memcpy(out, buf, plen);
		out[plen] = '\0';
	}
	explicit_bzero(buf, sizeof(buf));
	return rc == 0 && why == NULL ? 0 : -1;
}
