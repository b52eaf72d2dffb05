/*
 * handshake — routing and the RFC 6455 §4.2 opening handshake (see
 * handshake.h).  SHA-1 comes from libmd, base64 from libresolv (glibc's
 * b64_ntop / b64_pton).
 */
#include <ctype.h>
#include <fnmatch.h>
#include <netinet/in.h>
#include <resolv.h>
#include <sha1.h>
#include <string.h>
#include <strings.h>

#include "wshub/handshake.h"

#define KEY_MAX 64      /* longer keys are certainly not 24 characters */
#define KEY_BYTES 16    /* §4.2.1: base64 of a 16-byte nonce */
#define ORIGIN_MAX 256

#define ROOM_PREFIX "/ws/"

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
	return http_method_is(req, "GET") ? route : ROUTE_BAD_METHOD;
}

bool
handshake_query_has(const struct http_request *req, const char *param)
{
	size_t start = path_len(req), plen = strlen(param);

	while (start < req->target_len) {
		const char *part = req->target + start + 1; /* after '?' or '&' */
		const char *amp = memchr(part, '&',
		    req->target_len - (size_t)(part - req->target));
		size_t len = amp ? (size_t)(amp - part) :
		    req->target_len - (size_t)(part - req->target);

		if (len == plen && memcmp(part, param, plen) == 0)
			return true;
		start = (size_t)(part - req->target) + len;
	}
	return false;
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

int
handshake_check_upgrade(const struct http_request *req,
    const struct origin_policy *policy, char accept[HANDSHAKE_ACCEPT_LEN + 1],
    const char **why)
{
	const struct http_header *host = http_find_header(req, "Host");
	const struct http_header *version, *key;

	*why = NULL;
	if (req->version_major < 1 ||
	    (req->version_major == 1 && req->version_minor < 1))
		*why = "WebSocket needs HTTP/1.1 or later";
	else if (host == NULL || host->value_len == 0 ||
	    http_count_headers(req, "Host") > 1)
		*why = "exactly one Host header is required";
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
	if (key == NULL || http_count_headers(req, "Sec-WebSocket-Key") > 1 ||
	    !key_is_valid(key)) {
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
