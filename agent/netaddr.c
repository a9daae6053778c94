#include "autoconfig.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "netaddr.h"
#include "strutil.h"

static bool clear_host_bits(struct netaddr *a)
{
	unsigned len = a->family == AF_INET ? 4 : 16, i;
	bool had = false;

	for (i = 0; i < len; i++) {
		unsigned keep = a->prefix > i * 8 ? a->prefix - i * 8 : 0;
		unsigned char mask = keep >= 8 ? 0xff : (unsigned char)(0xff << (8 - keep));

		if (a->bytes[i] & ~mask)
			had = true;
		a->bytes[i] &= mask;
	}
	return had;
}

int netaddr_parse(const char *s, struct netaddr *ret, bool *ret_had_host_bits)
{
	char text[INET6_ADDRSTRLEN];
	struct netaddr a = { 0 };
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	unsigned long long prefix;
	bool had;
	int r;

	if (n == 0 || n >= sizeof(text))
		return -EINVAL;
	memcpy(text, s, n);
	text[n] = '\0';
	if (inet_pton(AF_INET, text, a.bytes) == 1)
		a.family = AF_INET;
	else if (inet_pton(AF_INET6, text, a.bytes) == 1)
		a.family = AF_INET6;
	else
		return -EINVAL;
	a.prefix = a.family == AF_INET ? 32 : 128;
	if (slash) {
		r = strutil_parse_u64(slash + 1, 0, a.prefix, &prefix);
		if (r < 0)
			return r;
		a.prefix = (unsigned)prefix;
	}
	had = clear_host_bits(&a);
	if (ret_had_host_bits)
		*ret_had_host_bits = had;
	*ret = a;
	return 0;
}

int netaddr_netmask_prefix(const char *netmask)
{
	unsigned char m[4];
	unsigned prefix = 0, i;
	bool ended = false;

	if (inet_pton(AF_INET, netmask, m) != 1)
		return -EINVAL;
	for (i = 0; i < 32; i++) {
		bool bit = m[i / 8] & (0x80 >> (i % 8));

		if (bit && ended)
			return -EINVAL;
		if (bit)
			prefix++;
		else
			ended = true;
	}
	return (int)prefix;
}

int netaddr_from_ipv4_netmask(const char *address, const char *netmask, struct netaddr *ret)
{
	struct netaddr a = { .family = AF_INET };
	int prefix = netaddr_netmask_prefix(netmask);

	if (prefix < 0)
		return prefix;
	if (inet_pton(AF_INET, address, a.bytes) != 1)
		return -EINVAL;
	a.prefix = (unsigned)prefix;
	clear_host_bits(&a);
	*ret = a;
	return 0;
}

void netaddr_format(const struct netaddr *a, char buf[static NETADDR_STRLEN])
{
	char text[INET6_ADDRSTRLEN];

	if (!inet_ntop(a->family, a->bytes, text, sizeof(text)))
		snprintf(text, sizeof(text), "?");
	snprintf(buf, NETADDR_STRLEN, "%s/%u", text, a->prefix);
}

bool netaddr_equal(const struct netaddr *a, const struct netaddr *b)
{
	return a->family == b->family && a->prefix == b->prefix &&
	       memcmp(a->bytes, b->bytes, a->family == AF_INET ? 4 : 16) == 0;
}
