/* IPv4 and IPv6 addresses with prefix lengths. */
#ifndef DOAGENT_NETADDR_H
#define DOAGENT_NETADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

/* Longest text netaddr_format writes, NUL included: an IPv6 address plus "/128". */
#define NETADDR_STRLEN 51

struct netaddr {
	int family;		/* AF_INET or AF_INET6 */
	unsigned char bytes[16];	/* network byte order; IPv4 uses the first 4 */
	unsigned prefix;	/* 0..32 or 0..128 */
};

/* Parse "ADDR" or "ADDR/PREFIX" (IPv4 dotted quad or IPv6 text; an address without a
 * prefix is a host: /32 or /128). Host bits under the prefix are cleared and
 * *ret_had_host_bits (when not NULL) says whether there were any.
 * Returns 0; -EINVAL when s is not an address; -ERANGE when the prefix is out of
 * range. *ret is set only on success. */
int netaddr_parse(const char *s, struct netaddr *ret, bool *ret_had_host_bits);

/* The network that an IPv4 address with a dotted netmask belongs to. -EINVAL when
 * either is not an IPv4 address or the mask is not contiguous. */
int netaddr_from_ipv4_netmask(const char *address, const char *netmask, struct netaddr *ret);

/* Prefix length of a contiguous dotted IPv4 netmask, or -EINVAL. */
int netaddr_netmask_prefix(const char *netmask);

/* "ADDR/PREFIX" into buf (NETADDR_STRLEN bytes is always enough). */
void netaddr_format(const struct netaddr *a, char buf[static NETADDR_STRLEN]);

bool netaddr_equal(const struct netaddr *a, const struct netaddr *b);

#endif
