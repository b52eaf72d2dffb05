/*
 * source — the local addresses wshub-load's connections come from
 * (--source), and binding a socket to one of them.
 *
 * Why: the kernel picks a connection's local port from
 * net.ipv4.ip_local_port_range (28,232 ports by default), and a port can
 * be used once per (local address, server address and port) pair.  So one
 * source address reaches at most that many connections to one URL; past
 * it connect(2) fails with EADDRNOTAVAIL.  Every 127.x.y.z is an address
 * of the loopback interface, so spreading the connections over several
 * of them multiplies the ports: 127.0.0.1-127.0.0.8 gives 8 x 28,232.
 *
 * Connection i comes from address i mod N of the N given, round-robin.
 * Each socket is bound with IP_BIND_ADDRESS_NO_PORT, so the port is still
 * chosen by connect(2), per destination: bind(2) alone would take a port
 * for good from the address's whole range, whatever the destination.
 *
 * Library-like: nothing here prints or exits; errors are negative codes.
 */
#ifndef WSHUB_LOAD_SOURCE_H
#define WSHUB_LOAD_SOURCE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* The most addresses one --source range may hold. */
#define SOURCE_MAX 256

/* Why a --source value was refused. */
enum source_err {
	SOURCE_OK = 0,
	SOURCE_NOT_ADDRESS = -1,  /* not a numeric IPv4 or IPv6 address */
	SOURCE_BACKWARDS = -2,    /* FIRST-LAST with LAST before FIRST */
	SOURCE_TOO_MANY = -3,     /* more than SOURCE_MAX addresses */
	SOURCE_V6_RANGE = -4,     /* a range of IPv6 addresses */
};

/*
 * N consecutive addresses from `first`: IPv4 ranges, or one IPv6
 * address.  n == 0: no --source, the kernel picks the address.  Plain
 * data, filled by source_parse and read-only afterwards.
 */
struct source_range {
	struct sockaddr_storage first;
	socklen_t len;                 /* of `first`'s family */
	uint32_t n;
};

/*
 * Parses ADDR or FIRST-LAST (IPv4 only: 127.0.0.1-127.0.0.8) into *r.
 * Returns SOURCE_OK, or a negative enum source_err and leaves *r alone.
 */
int source_parse(const char *arg, struct source_range *r);

/* What is wrong, in a few words; a static string for any `err`. */
const char *source_strerror(int err);

/* Address `i` (0 <= i < r->n) of the range in *out, port 0. */
void source_addr(const struct source_range *r, uint32_t i,
    struct sockaddr_storage *out);

/* Address `i` of the range as text ("127.0.0.3") in `buf`. */
const char *source_name(const struct source_range *r, uint32_t i, char *buf,
    size_t cap);

/*
 * Binds `fd` (a TCP socket of the range's family, not yet connected) to
 * the address connection `id` comes from, leaving the port to connect(2).
 * Does nothing when r->n == 0.  Returns 0, or -errno from bind(2):
 * -EADDRNOTAVAIL when the address is not one of this host's.
 */
int source_bind(int fd, const struct source_range *r, uint32_t id);

/* The sysctl that sets the ports each (source address, URL) pair has. */
#define SOURCE_PORT_SYSCTL "net.ipv4.ip_local_port_range"

/*
 * Reads SOURCE_PORT_SYSCTL (/proc/sys/net/ipv4/ip_local_port_range) into
 * *lo and *hi.  Returns 0, or -errno (-EINVAL if it cannot be parsed).
 */
int source_port_range(int *lo, int *hi);

#endif
