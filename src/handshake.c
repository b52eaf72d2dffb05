/*
 * handshake — routing and the RFC 6455 §4.2 opening handshake (see
 * handshake.h).  SHA-1 comes from libmd, base64 from libresolv (glibc's
 * b64_ntop / b64_pton).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <fnmatch.h>
#include <netinet/in.h>
#include <resolv.h>
#include <sha1.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#define LIBBSD_OPENBSD_VIS /* strvisx only; the historical API */
#include <vis.h>

#include "wshub/handshake.h"

#define KEY_MAX 64      /* longer keys are certainly not 24 characters */
#define KEY_BYTES 16    /* §4.2.1: base64 of a 16-byte nonce */
#define ORIGIN_MAX 256

#define ROOM_PREFIX "/ws/"
#define HOST_ECHO_MAX 80 /* bytes of a refused Host quoted in the reason */

/* Length of the target's path: the part before any '?'. */
static size_t
path_len(const struct http_request *req)
{
	const char *q = memchr(req->target, '?', req->target_len);

	return q != NULL ? (size_t)(q - req->target) : req->target_len;
}

/* True if the target's path equals `path`. */
static bool
path_is(const struct http_request *req, const char *path)
{
	return strlen(path) == path_len(req) &&
	    memcmp(req->target, path, path_len(req)) == 0;
}

/* True if the target's path starts with `prefix`. */
static bool
path_has_prefix(const struct http_request *req, const char *prefix)
{
	return path_len(req) >= strlen(prefix) &&
	    memcmp(req->target, prefix, strlen(prefix)) == 0;
}

enum handshake_route
handshake_route(const struct http_request *req)
{
	enum handshake_route route;

	if (path_is(req, "/") || path_is(req, "/index.html"))
		route = ROUTE_PAGE;
	else if (path_is(req, "/stats"))
		route = ROUTE_STATS;
	else if (path_is(req, "/metrics"))
		route = ROUTE_METRICS;
	else if (path_is(req, "/debug/threads"))
		route = ROUTE_DEBUG_THREADS;
	else if (path_is(req, "/ws") || path_has_prefix(req, ROOM_PREFIX))
		route = ROUTE_WEBSOCKET;
	else
		return ROUTE_NOT_FOUND;
	return http_method_is(req, "GET") || http_method_is(req, "HEAD") ?
	    route : ROUTE_BAD_METHOD;
}

/* The value of the query parameter `name` ("format" for "?format=json"),
 * its length in *len, or NULL if the query has none. */
static const char *
query_value(const struct http_request *req, const char *name, size_t *len)
{
	size_t start = path_len(req), nlen = strlen(name);

	while (start < req->target_len) {
		const char *part = req->target + start + 1; /* after '?' or '&' */
		const char *amp = memchr(part, '&',
		    req->target_len - (size_t)(part - req->target));
		size_t plen = amp ? (size_t)(amp - part) :
		    req->target_len - (size_t)(part - req->target);

		if (plen > nlen && memcmp(part, name, nlen) == 0 &&
		    part[nlen] == '=') {
			*len = plen - nlen - 1;
			return part + nlen + 1;
		}
		start = (size_t)(part - req->target) + plen;
	}
	return NULL;
}

const char *
handshake_format(const struct http_request *req, bool *json)
{
	size_t len;
	const char *v = query_value(req, "format", &len);

	*json = v != NULL && len == 4 && memcmp(v, "json", 4) == 0;
	if (v == NULL || *json || (len == 4 && memcmp(v, "text", 4) == 0))
		return NULL;
	return "format= takes json or text";
}

int
handshake_room(const struct http_request *req, char room[ROOM_NAME_MAX + 1],
    const char **why)
{
	const char *name = req->target + strlen(ROOM_PREFIX);
	size_t len;

	if (path_is(req, "/ws")) {
		strlcpy(room, DEFAULT_ROOM, ROOM_NAME_MAX + 1);
		return 0;
	}
	len = path_len(req) - strlen(ROOM_PREFIX);
	if (len == 0 || len > ROOM_NAME_MAX) {
		*why = "a room name is 1 to 64 bytes: /ws/NAME";
		return -1;
	}
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)name[i]) && strchr("._-", name[i]) == NULL) {
			*why = "a room name may hold only A-Z a-z 0-9 . _ -";
			return -1;
		}
	memcpy(room, name, len);
	room[len] = '\0';
	return 0;
}

/* ---- Host (see struct host_policy) ------------------------------------- */

/* A Host header, parsed. */
struct host_name {
	/* Lower case, without brackets, port or one trailing dot. */
	char name[HOST_NAME_MAX_LEN + 1];
	bool ip;          /* an IPv4 address, or an IPv6 one in brackets */
	bool bracketed;   /* IPv6: written [name] */
	bool loopback;    /* 127.0.0.0/8, ::1, ::ffff:127.0.0.0/104 */
};

/* RFC 3986 reg-name: unreserved / pct-encoded / sub-delims.  Returns the
 * length of the character at p (3 for %XX), 0 if there is none. */
static size_t
reg_name_char(const char *p, const char *end)
{
	unsigned char c = (unsigned char)*p;

	if (isalnum(c) || strchr("-._~!$&'()*+,;=", c) != NULL)
		return c != '\0';
	if (c == '%' && end - p >= 3 && isxdigit((unsigned char)p[1]) &&
	    isxdigit((unsigned char)p[2]))
		return 3;
	return 0;
}

/* ":" *DIGIT at p..end, at most 5 digits and 65535; true if so (or empty). */
static bool
port_ok(const char *p, const char *end)
{
	unsigned long port = 0;

	if (p == end)
		return true;
	if (*p++ != ':' || end - p > 5)
		return false;
	for (; p < end; p++) {
		if (!isdigit((unsigned char)*p))
			return false;
		port = port * 10 + (unsigned long)(*p - '0');
	}
	return port <= 65535;
}

/* Parses a Host value, host[:port]; false if it is not one. */
static bool
parse_host(const char *v, size_t len, struct host_name *h)
{
	const char *end = v + len, *p = v;
	struct in6_addr a6;
	struct in_addr a4;
	size_t n = 0, step;

	memset(h, 0, sizeof(*h));
	if (len > 0 && v[0] == '[') { /* IP-literal: IPv6 only */
		const char *rb = memchr(v, ']', len);

		if (rb == NULL || rb == v + 1 ||
		    (size_t)(rb - v - 1) > HOST_NAME_MAX_LEN)
			return false;
		n = (size_t)(rb - v - 1);
		for (size_t i = 0; i < n; i++)
			h->name[i] = (char)tolower((unsigned char)v[1 + i]);
		if (inet_pton(AF_INET6, h->name, &a6) != 1)
			return false;
		h->ip = h->bracketed = true;
		h->loopback = IN6_IS_ADDR_LOOPBACK(&a6) ||
		    (IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127);
		return port_ok(rb + 1, end);
	}
	while (p < end && *p != ':') {
		if ((step = reg_name_char(p, end)) == 0 ||
		    n + step > HOST_NAME_MAX_LEN)
			return false;
		for (size_t i = 0; i < step; i++)
			h->name[n++] = (char)tolower((unsigned char)*p++);
	}
	if (n == 0 || !port_ok(p, end))
		return false;
	if (n > 1 && h->name[n - 1] == '.') /* "localhost." is localhost */
		h->name[--n] = '\0';
	if (inet_pton(AF_INET, h->name, &a4) == 1) {
		h->ip = true;
		h->loopback = ((const uint8_t *)&a4)[0] == 127;
	}
	return true;
}

/* localhost, or a name under .localhost (RFC 6761 §6.3). */
static bool
is_localhost(const char *name)
{
	static const char suffix[] = ".localhost";
	size_t n = strlen(name), k = sizeof(suffix) - 1;

	return strcmp(name, "localhost") == 0 ||
	    (n > k && strcmp(name + n - k, suffix) == 0);
}

/*
 * Copies a name the user gave (--addr, an --allow-host pattern) as it
 * compares with a parsed Host: an IPv6 address's brackets and one
 * trailing dot removed.  Returns `out`.
 */
static const char *
user_name(const char *s, char *out, size_t size)
{
	size_t n = strlen(s);

	if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
		s++;
		n -= 2;
	}
	if (n > 1 && s[n - 1] == '.')
		n--;
	snprintf(out, size, "%.*s", (int)n, s);
	return out;
}

/* One of the server's own names (see struct host_policy). */
static bool
host_is_own(const struct host_name *h, const struct host_policy *policy)
{
	char addr[HOST_NAME_MAX_LEN + 3];

	if (is_localhost(h->name) || (h->ip && (h->loopback ||
	    !policy->loopback)))
		return true;
	return policy->addr != NULL && strcasecmp(h->name,
	    user_name(policy->addr, addr, sizeof(addr))) == 0;
}

/* Matched by an --allow-host pattern. */
static bool
host_is_allowed(const struct host_name *h, const struct host_policy *policy)
{
	char pat[HOST_NAME_MAX_LEN + 3];

	for (size_t i = 0; i < policy->n_patterns; i++)
		if (fnmatch(user_name(policy->patterns[i], pat, sizeof(pat)),
		    h->name, FNM_CASEFOLD) == 0)
			return true;
	return false;
}

/* The 403 for a Host that is not this server's, quoting it (only a valid
 * Host is quoted: printable ASCII without spaces). */
static int
host_refusal(const struct http_header *host, const struct host_name *h,
    const struct host_policy *policy, bool debug, char why[HOST_WHY_MAX])
{
	int echo = (int)(host->value_len < HOST_ECHO_MAX ? host->value_len :
	    HOST_ECHO_MAX);
	const char *more = (size_t)echo < host->value_len ? "..." : "";

	if (debug) {
		snprintf(why, HOST_WHY_MAX, "/debug/ is served only to a Host "
		    "of localhost or an address of this server, not '%.*s%s' "
		    "(--allow-host names do not get it)", echo, host->value,
		    more);
		return 403;
	}
	snprintf(why, HOST_WHY_MAX, "Host '%.*s%s' is not a name of this "
	    "server (it answers localhost and its own addresses%s); to allow "
	    "it, start wshub with --allow-host %s%.*s%s", echo, host->value,
	    more, policy->n_patterns > 0 ? ", and the --allow-host names" : "",
	    h->bracketed ? "[" : "", HOST_ECHO_MAX, h->name,
	    h->bracketed ? "]" : "");
	return 403;
}

int
handshake_check_host(const struct http_request *req,
    const struct host_policy *policy, bool debug, char why[HOST_WHY_MAX])
{
	const struct http_header *host = http_find_header(req, "Host");
	size_t count = http_count_headers(req, "Host");
	struct host_name h;

	if (count > 1) {
		snprintf(why, HOST_WHY_MAX, "more than one Host header");
		return 400;
	}
	if (host == NULL) {
		if (req->version_major == 1 && req->version_minor == 0)
			return 0; /* HTTP/1.0 may omit it; browsers never do */
		snprintf(why, HOST_WHY_MAX, "no Host header (HTTP/1.1 "
		    "requires one)");
		return 400;
	}
	if (!parse_host(host->value, host->value_len, &h)) {
		snprintf(why, HOST_WHY_MAX, "malformed Host header (expected "
		    "host[:port])");
		return 400;
	}
	if (host_is_own(&h, policy))
		return 0;
	if (!debug && (host_is_allowed(&h, policy) ||
	    (!policy->loopback && policy->n_patterns == 0)))
		return 0;
	return host_refusal(host, &h, policy, debug, why);
}

/* ---- the upgrade --------------------------------------------------------- */

int
handshake_accept_key(const char *key, size_t key_len,
    char out[HANDSHAKE_ACCEPT_LEN + 1])
{
	uint8_t digest[SHA1_DIGEST_LENGTH];
	SHA1_CTX sha;

	if (key_len > KEY_MAX)
		return -1;
	SHA1Init(&sha);
	SHA1Update(&sha, (const uint8_t *)key, key_len);
	SHA1Update(&sha, (const uint8_t *)HANDSHAKE_GUID,
	    sizeof(HANDSHAKE_GUID) - 1);
	SHA1Final(digest, &sha);
	return b64_ntop(digest, sizeof(digest), out, HANDSHAKE_ACCEPT_LEN + 1) ==
	    HANDSHAKE_ACCEPT_LEN ? 0 : -1;
}

/* True if the key is base64 of exactly 16 bytes (24 characters). */
static bool
key_is_valid(const struct http_header *key)
{
	char text[KEY_MAX + 1];
	uint8_t raw[KEY_MAX];

	if (key->value_len != 24)
		return false;
	memcpy(text, key->value, key->value_len);
	text[key->value_len] = '\0';
	return b64_pton(text, raw, sizeof(raw)) == KEY_BYTES;
}

/* The host[:port] part of an Origin such as "http://host:port". */
static bool
origin_host(const struct http_header *origin, char *out, size_t size)
{
	const char *v = origin->value, *end = v + origin->value_len;
	const char *sep = memmem(v, origin->value_len, "://", 3);
	const char *host = sep ? sep + 3 : NULL;
	const char *slash;
	size_t len;

	if (host == NULL || host >= end)
		return false;
	slash = memchr(host, '/', (size_t)(end - host));
	len = (size_t)((slash ? slash : end) - host);
	if (len == 0 || len >= size)
		return false;
	memcpy(out, host, len);
	out[len] = '\0';
	return true;
}

/* Applies the origin policy; a missing Origin is always allowed. */
static bool
origin_allowed(const struct http_request *req,
    const struct origin_policy *policy, const struct http_header *host)
{
	const struct http_header *origin = http_find_header(req, "Origin");
	char oh[ORIGIN_MAX];

	if (origin == NULL || policy->any)
		return true;
	if (!origin_host(origin, oh, sizeof(oh)))
		return false;
	if (policy->n_patterns == 0) /* same origin, as Gorilla checks it */
		return strlen(oh) == host->value_len &&
		    strncasecmp(oh, host->value, host->value_len) == 0;
	for (size_t i = 0; i < policy->n_patterns; i++)
		if (fnmatch(policy->patterns[i], oh, FNM_CASEFOLD) == 0)
			return true;
	return false;
}

/* Copies at most `max` bytes of header `h` into out (size > max * 4 + 4),
 * made visible (C-style escapes), "..." if cut; "(none)" if absent. */
static void
shown(char *out, size_t size, const struct http_header *h, size_t max)
{
	char vis[ORIGIN_SHOWN_MAX * 4 + 1];
	size_t len;

	if (h == NULL) {
		snprintf(out, size, "(none)");
		return;
	}
	len = h->value_len < max ? h->value_len : max;
	strvisx(vis, h->value, len, VIS_CSTYLE | VIS_DQ);
	snprintf(out, size, "%s%s", vis, h->value_len > max ? "..." : "");
}

void
handshake_origin_refusal(const struct http_request *req, char *out,
    size_t size)
{
	char origin[ORIGIN_SHOWN_MAX * 4 + 8], host[ORIGIN_SHOWN_MAX * 4 + 8];

	shown(origin, sizeof(origin), http_find_header(req, "Origin"),
	    ORIGIN_SHOWN_MAX);
	shown(host, sizeof(host), http_find_header(req, "Host"),
	    ORIGIN_SHOWN_MAX);
	snprintf(out, size, "Origin '%s' is not allowed: it must match Host "
	    "'%s' or an --origin pattern (--any-origin allows every Origin)",
	    origin, host);
}

/*
 * The first header of an upgrade that must be single but is repeated, as
 * a reason for a 400, or NULL.  A repeated one would otherwise be decided
 * by its first copy, which a proxy or a second parser may not agree on.
 */
static const char *
repeated_header(const struct http_request *req)
{
	static const char *const single[][2] = {
		{ "Host", "more than one Host header" },  /* RFC 9112 §3.2 */
		{ "Sec-WebSocket-Key",                    /* RFC 6455 §11.3.1 */
		    "more than one Sec-WebSocket-Key header" },
		{ "Sec-WebSocket-Version",                /* RFC 6455 §11.3.5 */
		    "more than one Sec-WebSocket-Version header" },
		{ "Origin", "more than one Origin header" }, /* RFC 6454 §7.3 */
	};

	for (size_t i = 0; i < sizeof(single) / sizeof(single[0]); i++)
		if (http_count_headers(req, single[i][0]) > 1)
			return single[i][1];
	return NULL;
}

int
handshake_check_upgrade(const struct http_request *req,
    const struct origin_policy *policy, char accept[HANDSHAKE_ACCEPT_LEN + 1],
    const char **why)
{
	const struct http_header *host = http_find_header(req, "Host");
	const struct http_header *version, *key;
	const char *repeated = repeated_header(req);

	*why = NULL;
	if (req->version_major < 1 ||
	    (req->version_major == 1 && req->version_minor < 1))
		*why = "WebSocket needs HTTP/1.1 or later";
	else if (host == NULL || host->value_len == 0)
		*why = "a Host header is required";
	else if (repeated != NULL)
		*why = repeated;
	else if (!http_header_has_token(req, "Upgrade", "websocket"))
		*why = "the Upgrade header must name websocket";
	else if (!http_header_has_token(req, "Connection", "Upgrade"))
		*why = "the Connection header must name Upgrade";
	if (*why != NULL)
		return 400;
	version = http_find_header(req, "Sec-WebSocket-Version");
	if (version == NULL || version->value_len != 2 ||
	    memcmp(version->value, "13", 2) != 0) {
		*why = "only WebSocket version 13 is supported";
		return 426;
	}
	key = http_find_header(req, "Sec-WebSocket-Key");
	if (key == NULL || !key_is_valid(key)) {
		*why = "Sec-WebSocket-Key must be base64 of 16 bytes";
		return 400;
	}
	if (!origin_allowed(req, policy, host)) {
		*why = "origin not allowed";
		return 403;
	}
	handshake_accept_key(key->value, key->value_len, accept);
	return 101;
}
