/* source — where wshub-load's connections come from (see source.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "source.h"

/* Linux 4.2 (linux/in.h); older C libraries' headers lack it. */
#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

/* One numeric address into *ss; false if `s` is none. */
static bool
parse_one(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *in = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, s, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		*len = sizeof(*in);
		return true;
	}
	if (inet_pton(AF_INET6, s, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		*len = sizeof(*in6);
		return true;
	}
	return false;
}

/* ADDR, or FIRST-LAST. */
int
source_parse(const char *arg, struct source_range *r)
{
	struct sockaddr_storage first, last;
	socklen_t len, last_len;
	const char *dash = strchr(arg, '-');
	char head[INET6_ADDRSTRLEN];
	size_t hl = dash != NULL ? (size_t)(dash - arg) : strlen(arg);
	uint32_t a, b;

	if (hl >= sizeof(head))
		return SOURCE_NOT_ADDRESS;
	memcpy(head, arg, hl);
	head[hl] = '\0';
	if (!parse_one(head, &first, &len))
		return SOURCE_NOT_ADDRESS;
	if (dash == NULL) {
		r->first = first;
		r->len = len;
		r->n = 1;
		return SOURCE_OK;
	}
	if (!parse_one(dash + 1, &last, &last_len))
		return SOURCE_NOT_ADDRESS;
	if (first.ss_family != AF_INET || last.ss_family != AF_INET)
		return SOURCE_V6_RANGE;
	a = ntohl(((struct sockaddr_in *)&first)->sin_addr.s_addr);
	b = ntohl(((struct sockaddr_in *)&last)->sin_addr.s_addr);
	if (b < a)
		return SOURCE_BACKWARDS;
	if (b - a >= SOURCE_MAX)
		return SOURCE_TOO_MANY;
	r->first = first;
	r->len = len;
	r->n = b - a + 1;
	return SOURCE_OK;
}

/* The reasons, by code. */
const char *
source_strerror(int err)
{
	switch (err) {
	case SOURCE_NOT_ADDRESS:
		return "not a numeric IPv4 or IPv6 address";
	case SOURCE_BACKWARDS:
		return "the last address comes before the first";
	case SOURCE_TOO_MANY:
		return "too many addresses";
	case SOURCE_V6_RANGE:
		return "a range must be of IPv4 addresses";
	default:
		return "invalid";
	}
}

/* The first address plus `i` (IPv4); the one address (IPv6). */
void
source_addr(const struct source_range *r, uint32_t i,
    struct sockaddr_storage *out)
{
	struct sockaddr_in *in = (struct sockaddr_in *)out;

	*out = r->first;
	if (out->ss_family == AF_INET)
		in->sin_addr.s_addr = htonl(ntohl(in->sin_addr.s_addr) + i);
}

/* inet_ntop of address `i`. */
const char *
source_name(const struct source_range *r, uint32_t i, char *buf, size_t cap)
{
	struct sockaddr_storage ss;
	const void *a;

	source_addr(r, i, &ss);
	a = ss.ss_family == AF_INET ?
	    (const void *)&((struct sockaddr_in *)&ss)->sin_addr :
	    (const void *)&((struct sockaddr_in6 *)&ss)->sin6_addr;
	if (inet_ntop(ss.ss_family, a, buf, (socklen_t)cap) == NULL)
		snprintf(buf, cap, "?");
	return buf;
}

/* bind(2) to address id mod n, the port left to connect(2). */
int
source_bind(int fd, const struct source_range *r, uint32_t id)
{
	struct sockaddr_storage ss;
	int one = 1;

	if (r->n == 0)
		return 0;
	source_addr(r, id % r->n, &ss);
	/* Best effort: without it bind(2) picks the port, which still works,
	 * only with fewer ports (one per address, not per destination). */
	setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)&ss, r->len) < 0)
		return -errno;
	return 0;
}

/* Two numbers from /proc. */
int
source_port_range(int *lo, int *hi)
{
	FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "re");
	int n;

	if (f == NULL)
		return -errno;
	n = fscanf(f, "%d %d", lo, hi);
	fclose(f);
	return n == 2 ? 0 : -EINVAL;
}
