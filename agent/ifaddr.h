/* Which of some addresses are on an interface of this machine, and waiting until they
 * all are: through rtnetlink, the kernel's own account (no /sbin/ip, no polling of
 * /proc). A daemon can bind an address only once it is there. */
#ifndef DOAGENT_IFADDR_H
#define DOAGENT_IFADDR_H

#include <stddef.h>
#include <stdint.h>

/*
 * Which of addrs (NULL-terminated, IPv4 or IPv6 text) are not usable on an
 * interface now. An address counts once it is assigned and neither tentative
 * (IPv6 duplicate address detection still running) nor failed duplicate detection.
 * Returns 0 with *ret_missing a new NULL-terminated list (NULL when none is missing),
 * -EINVAL for a string that is not an address, or -errno (netlink).
 */
int ifaddr_missing(const char *const *addrs, char ***ret_missing);

/* Called while ifaddr_wait waits: at the start and about every 5 s, with the addresses
 * still missing and the milliseconds waited so far. */
typedef void (*ifaddr_note_fn)(char *const *missing, uint64_t waited_ms, void *userdata);

/*
 * Wait until every one of addrs is usable, or timeout_ms passes. Wakes on the kernel's
 * address notifications (and rechecks every second besides). Returns 0; -ETIMEDOUT
 * with *ret_cause naming what is still missing; -EINVAL or -errno as ifaddr_missing.
 */
int ifaddr_wait(const char *const *addrs, uint64_t timeout_ms, ifaddr_note_fn note, void *userdata,
		char **ret_cause);

/* Parse one rtnetlink RTM_NEWADDR message (header included, len bytes): the address
 * into ret (16 bytes; 4 for IPv4) and whether it is usable. Returns the family
 * (AF_INET, AF_INET6), 0 for a message without an address, or -EBADMSG. */
int ifaddr_parse_msg(const void *msg, size_t len, unsigned char ret[static 16], int *ret_usable);

#endif
