/*
 * The addresses on this machine's interfaces, from rtnetlink.
 *
 * ifaddr_wait subscribes to the kernel's address notifications before it looks, so an
 * address that appears between the look and the wait still wakes it; it looks again on
 * every notification and at least once a second (a notification the socket's buffer
 * dropped must not stall it).
 */
#include "autoconfig.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "backoff.h"
#include "ifaddr.h"
#include "macro.h"
#include "strutil.h"
#include "strv.h"

#define DUMP_BUF 32768
#define DUMP_TIMEOUT_S 2
#define RECHECK_MS 1000
#define NOTE_EVERY_MS 5000

struct wanted {
	int family;
	unsigned char addr[16];
	bool found;
};

int ifaddr_parse_msg(const void *msg, size_t len, unsigned char ret[static 16], int *ret_usable)
{
	const struct nlmsghdr *nh = msg;
	const struct ifaddrmsg *ifa;
	const struct rtattr *rta;
	const void *address = NULL, *local = NULL;
	unsigned flags;
	size_t alen;
	int rlen;

	if (len < NLMSG_LENGTH(sizeof(*ifa)) || nh->nlmsg_len < NLMSG_LENGTH(sizeof(*ifa)) || nh->nlmsg_len > len)
		return -EBADMSG;
	ifa = NLMSG_DATA(nh);
	if (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6)
		return 0;
	alen = ifa->ifa_family == AF_INET ? 4 : 16;
	flags = ifa->ifa_flags;
	rlen = (int)(nh->nlmsg_len - NLMSG_LENGTH(sizeof(*ifa)));
	for (rta = IFA_RTA(ifa); RTA_OK(rta, rlen); rta = RTA_NEXT(rta, rlen)) {
		size_t plen = RTA_PAYLOAD(rta);

		switch (rta->rta_type) {
		case IFA_ADDRESS:
			if (plen != alen)
				return -EBADMSG;
			address = RTA_DATA(rta);
			break;
		case IFA_LOCAL:
			if (plen != alen)
				return -EBADMSG;
			local = RTA_DATA(rta);
			break;
		case IFA_FLAGS:
			if (plen != sizeof(uint32_t))
				return -EBADMSG;
			memcpy(&flags, RTA_DATA(rta), sizeof(uint32_t));
			break;
		}
	}
	/* IPv4: IFA_LOCAL is this machine's address (IFA_ADDRESS is the peer's on a
	 * point-to-point link). IPv6 has IFA_ADDRESS, and IFA_LOCAL only with a peer. */
	if (ifa->ifa_family == AF_INET && local)
		address = local;
	if (!address)
		return 0;
	memset(ret, 0, 16);
	memcpy(ret, address, alen);
	*ret_usable = !(flags & (IFA_F_TENTATIVE | IFA_F_DADFAILED));
	return ifa->ifa_family;
}

static int netlink_open(unsigned groups)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = groups };
	struct timeval tv = { .tv_sec = DUMP_TIMEOUT_S };
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);

	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0) {
		int r = -errno;

		close(fd);
		return r;
	}
	return fd;
}

/* One RTM_GETADDR dump, marking what it finds usable in w[0..n). */
static int dump(struct wanted *w, size_t n)
{
	struct {
		struct nlmsghdr nh;
		struct ifaddrmsg ifa;
	} req = {
		.nh = { .nlmsg_len = sizeof(req), .nlmsg_type = RTM_GETADDR,
			.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP, .nlmsg_seq = (uint32_t)time(NULL) },
		.ifa = { .ifa_family = AF_UNSPEC },
	};
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	_cleanup_close_ int fd = netlink_open(0);
	_cleanup_free_ char *buf = NULL;
	size_t i;

	if (fd < 0)
		return fd;
	buf = malloc(DUMP_BUF);
	if (!buf)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		w[i].found = false;
	if (sendto(fd, &req, sizeof(req), 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0)
		return -errno;
	for (;;) {
		ssize_t got = recv(fd, buf, DUMP_BUF, 0);
		struct nlmsghdr *nh;
		size_t left;

		if (got < 0)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		if (got == 0)
			return -EPIPE;
		left = (size_t)got;
		for (nh = (struct nlmsghdr *)buf; NLMSG_OK(nh, left); nh = NLMSG_NEXT(nh, left)) {
			unsigned char a[16];
			int family, usable = 0;

			if (nh->nlmsg_seq != req.nh.nlmsg_seq)
				continue;
			if (nh->nlmsg_type == NLMSG_DONE)
				return 0;
			if (nh->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(nh);

				return nh->nlmsg_len >= NLMSG_LENGTH(sizeof(*e)) && e->error ? e->error : -EBADMSG;
			}
			if (nh->nlmsg_type != RTM_NEWADDR)
				continue;
			family = ifaddr_parse_msg(nh, nh->nlmsg_len, a, &usable);
			if (family < 0)
				return family;
			for (i = 0; family > 0 && usable && i < n; i++)
				if (w[i].family == family && memcmp(w[i].addr, a, family == AF_INET ? 4 : 16) == 0)
					w[i].found = true;
		}
	}
}

static int parse_wanted(const char *const *addrs, struct wanted **ret, size_t *ret_n)
{
	_cleanup_free_ struct wanted *w = NULL;
	size_t n = strv_length((char *const *)addrs), i;

	w = calloc(n ? n : 1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		w[i].family = strchr(addrs[i], ':') ? AF_INET6 : AF_INET;
		if (inet_pton(w[i].family, addrs[i], w[i].addr) != 1)
			return -EINVAL;
	}
	*ret = TAKE_PTR(w);
	*ret_n = n;
	return 0;
}

static int list_missing(const char *const *addrs, const struct wanted *w, size_t n, char ***ret)
{
	char **l = NULL;
	size_t i;

	for (i = 0; i < n; i++)
		if (!w[i].found && strv_extend(&l, addrs[i]) < 0) {
			strv_free(l);
			return -ENOMEM;
		}
	*ret = l;
	return 0;
}

int ifaddr_missing(const char *const *addrs, char ***ret_missing)
{
	_cleanup_free_ struct wanted *w = NULL;
	size_t n;
	int r;

	r = parse_wanted(addrs, &w, &n);
	if (r >= 0 && n)
		r = dump(w, n);
	if (r < 0)
		return r;
	return list_missing(addrs, w, n, ret_missing);
}

/* Read and drop every notification queued on fd. */
static void drain(int fd)
{
	char buf[8192];

	while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
}

int ifaddr_wait(const char *const *addrs, uint64_t timeout_ms, ifaddr_note_fn note, void *userdata,
		char **ret_cause)
{
	_cleanup_free_ struct wanted *w = NULL;
	_cleanup_close_ int events = -1;
	uint64_t start = backoff_now_ms(), next_note = start;
	size_t n, i;
	int r;

	r = parse_wanted(addrs, &w, &n);
	if (r < 0)
		return strutil_cause(ret_cause, r, "not an IP address among those to wait for");
	if (n == 0)
		return 0;
	events = netlink_open(RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR);
	if (events < 0)
		return strutil_cause(ret_cause, events, "rtnetlink: %s", strerror(-events));
	for (;;) {
		uint64_t now, waited;
		struct pollfd p = { .fd = events, .events = POLLIN };
		bool all = true;

		r = dump(w, n);
		if (r < 0)
			return strutil_cause(ret_cause, r, "rtnetlink: listing addresses: %s", strerror(-r));
		for (i = 0; i < n; i++)
			all &= w[i].found;
		if (all)
			return 0;
		now = backoff_now_ms();
		waited = now - start;
		if (waited >= timeout_ms) {
			_cleanup_strv_ char **missing = NULL;
			_cleanup_free_ char *text = NULL;

			if (list_missing(addrs, w, n, &missing) < 0 || !(text = strv_join(missing, ", ")))
				return -ENOMEM;
			return strutil_cause(ret_cause, -ETIMEDOUT, "%s not on any interface after %llu.%03llu s", text,
					     (unsigned long long)(waited / 1000), (unsigned long long)(waited % 1000));
		}
		if (note && now >= next_note) {
			_cleanup_strv_ char **missing = NULL;

			if (list_missing(addrs, w, n, &missing) < 0)
				return -ENOMEM;
			note(missing, waited, userdata);
			next_note = now + NOTE_EVERY_MS;
		}
		r = poll(&p, 1, (int)(timeout_ms - waited < RECHECK_MS ? timeout_ms - waited : RECHECK_MS));
		if (r < 0 && errno != EINTR)
			return strutil_cause(ret_cause, -errno, "rtnetlink: %s", strerror(errno));
		if (r > 0)
			drain(events);
	}
}
