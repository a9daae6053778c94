/* The droplet metadata document (GET /metadata/v1.json), parsed into a typed struct. */
#ifndef DOAGENT_METADATA_H
#define DOAGENT_METADATA_H

#include <stdbool.h>
#include <stddef.h>

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

/* The first private interface's IPv4, or NULL when the droplet has none. */
const struct metadata_ipv4 *metadata_private_ipv4(const struct metadata *md);
/* The first public interface, or NULL. */
const struct metadata_interface *metadata_public_if(const struct metadata *md);

/* Accepts NULL. */
void metadata_free(struct metadata *md);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct metadata *, metadata_free)
#define _cleanup_metadata_ _cleanup_(metadata_freep)

#endif
