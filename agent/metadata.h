/* The droplet metadata document (GET /metadata/v1.json), parsed into a typed struct. */
#ifndef DOAGENT_METADATA_H
#define DOAGENT_METADATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"

/* The largest document we accept; real ones are a few KiB plus the user data (<= 64 KiB). */
#define METADATA_MAX_SIZE (1024 * 1024)

/* Addresses are kept in canonical text form (inet_ntop), "" when absent. */
struct metadata_ipv4 {
	bool present;
	char address[16];
	char netmask[16];
	char gateway[16];
	unsigned prefix;	/* netmask as a prefix length, 0..32 */
};

struct metadata_ipv6 {
	bool present;
	char address[46];
	char gateway[46];
	unsigned prefix;	/* "cidr", 0..128 */
};

struct metadata_interface {
	struct metadata_ipv4 ipv4;
	struct metadata_ipv4 anchor_ipv4;
	struct metadata_ipv6 ipv6;
	char mac[18];		/* "" when absent */
	char type[16];		/* "public", "private" or "" */
};

struct metadata {
	char *droplet_id;	/* always decimal digits, whether the document had a number or a string */
	char *hostname;
	char *region;
	char *user_data;	/* NULL when absent or null */
	size_t user_data_len;
	char *vendor_data;	/* NULL when absent or null */
	char **public_keys;	/* NULL-terminated, never NULL */
	char **tags;		/* NULL-terminated, never NULL */
	char **nameservers;	/* NULL-terminated, never NULL */
	struct metadata_interface *public_if;	/* array of n_public_if */
	size_t n_public_if;
	struct metadata_interface *private_if;
	size_t n_private_if;
	char floating_ipv4[16];	/* the reserved (floating) IPv4 when active, else "" */
};

/* Parse a v1.json document of len bytes (need not be NUL-terminated).
 * On success stores a new struct in *ret (free with metadata_free) and returns 0.
 * On failure returns -EBADMSG for a document that is not what DigitalOcean sends
 * (with *ret_cause naming the field, e.g. "interfaces.private[0].ipv4.ip_address:
 * not an IPv4 address"), -E2BIG when larger than METADATA_MAX_SIZE, -ENOMEM;
 * *ret is untouched and *ret_cause is a malloc'd message the caller frees. */
int metadata_parse(const char *doc, size_t len, struct metadata **ret, char **ret_cause);

/* Read a file (at most METADATA_MAX_SIZE bytes) and parse it as above.
 * Returns -errno when the file cannot be read (with *ret_cause naming the file). */
int metadata_load_file(const char *path, struct metadata **ret, char **ret_cause);

/* The path of the document under the service's base URL. */
#define METADATA_PATH "/metadata/v1.json"

/*
 * Fetch the document from the metadata service and parse it as metadata_parse does.
 *
 * base_url is the service's base ("http://169.254.169.254", with or without a trailing
 * slash), to which METADATA_PATH is appended, or a full http(s) URL ending in ".json",
 * used as is. deadline_ms (> 0) bounds the whole call on the monotonic clock.
 *
 * The service is often not reachable yet when the droplet boots, so every failure is
 * retried until the deadline: no connection, a timeout, a broken answer, a status other
 * than 200, a document that metadata_parse rejects. Each request has a 2 s connect
 * timeout, a total timeout of min(10 s, time left) and a body cap of METADATA_MAX_SIZE;
 * between attempts it waits 0.25 s, doubling up to 5 s, never past the deadline.
 * Nothing is logged. Calls http_init() itself.
 *
 * Returns 0 and stores a new struct in *ret (free with metadata_free) as soon as one
 * answer is good. Otherwise *ret is untouched, *ret_cause (unless ret_cause is NULL) is a
 * malloc'd message the caller frees, and it returns:
 *   -ETIMEDOUT  no good answer before the deadline; the cause names the URL, the deadline,
 *               the number of attempts and the last failure ("metadata service
 *               http://169.254.169.254/metadata/v1.json: no usable answer in 120 s after
 *               28 attempts; last: ...");
 *   -EINVAL     base_url is not an http:// or https:// URL, or not one curl can parse,
 *               or deadline_ms is 0: returned at once, since no retry would help;
 *   -ENOMEM     (the cause may be NULL).
 */
int metadata_fetch(const char *base_url, uint64_t deadline_ms, struct metadata **ret,
		   char **ret_cause);

/* The first private interface's IPv4, or NULL when the droplet has none. */
const struct metadata_ipv4 *metadata_private_ipv4(const struct metadata *md);
/* The first public interface, or NULL. */
const struct metadata_interface *metadata_public_if(const struct metadata *md);

/* Accepts NULL. */
void metadata_free(struct metadata *md);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct metadata *, metadata_free)
#define _cleanup_metadata_ _cleanup_(metadata_freep)

#endif
