/*
 * The metadata parser: the input is a v1.json document as the metadata service would
 * answer it. Checks what metadata.h promises of a parsed document (digits for the id,
 * canonical addresses, lists that are never NULL) and that a refusal says why in
 * printable text.
 */
#include "autoconfig.h"

#include <arpa/inet.h>
#include <errno.h>

#include "fuzz.h"
#include "metadata.h"

static void check_strv(char **l)
{
	FUZZ_NONNULL(l);
	for (; *l; l++)
		(void)strlen(*l);
}

/* s, of a field of size bytes, is "" or an address in inet_ntop's form. */
static void check_address(int family, const char *s, size_t size)
{
	unsigned char bin[sizeof(struct in6_addr)];
	char text[INET6_ADDRSTRLEN];

	FUZZ_CHECK(strnlen(s, size) < size);
	if (!*s)
		return;
	FUZZ_CHECK(inet_pton(family, s, bin) == 1);
	FUZZ_NONNULL(inet_ntop(family, bin, text, sizeof text));
	FUZZ_CHECK(strcmp(text, s) == 0);
}

static void check_ipv4(const struct metadata_ipv4 *a)
{
	check_address(AF_INET, a->address, sizeof a->address);
	check_address(AF_INET, a->netmask, sizeof a->netmask);
	check_address(AF_INET, a->gateway, sizeof a->gateway);
	FUZZ_CHECK(!a->present || (a->address[0] && a->prefix <= 32));
}

static void check_interfaces(const struct metadata_interface *l, size_t n)
{
	FUZZ_CHECK(n == 0 || l != NULL);
	for (size_t i = 0; i < n; i++) {
		check_ipv4(&l[i].ipv4);
		check_ipv4(&l[i].anchor_ipv4);
		check_address(AF_INET6, l[i].ipv6.address, sizeof l[i].ipv6.address);
		check_address(AF_INET6, l[i].ipv6.gateway, sizeof l[i].ipv6.gateway);
		FUZZ_CHECK(!l[i].ipv6.present || (l[i].ipv6.address[0] && l[i].ipv6.prefix <= 128));
		FUZZ_CHECK(strlen(l[i].mac) == 0 || strlen(l[i].mac) == 17);
		FUZZ_CHECK(strnlen(l[i].type, sizeof l[i].type) < sizeof l[i].type);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct metadata *md = NULL;
	char *cause = NULL;
	int r;

	r = metadata_parse((const char *)data, size, &md, &cause);
	FUZZ_CHECK(r == 0 || r == -EBADMSG || r == -E2BIG);
	if (r < 0) {
		FUZZ_CHECK(md == NULL);
		FUZZ_NONNULL(cause);
		FUZZ_CHECK(fuzz_printable(cause));
		free(cause);
		return 0;
	}
	FUZZ_NONNULL(md);
	FUZZ_NONNULL(md->droplet_id);
	FUZZ_CHECK(md->droplet_id[0] >= '1' && md->droplet_id[0] <= '9');
	FUZZ_CHECK(strspn(md->droplet_id, "0123456789") == strlen(md->droplet_id));
	FUZZ_NONNULL(md->hostname);
	FUZZ_NONNULL(md->region);
	FUZZ_CHECK(!md->user_data || md->user_data[md->user_data_len] == '\0');
	check_strv(md->public_keys);
	check_strv(md->tags);
	check_strv(md->nameservers);
	check_interfaces(md->public_if, md->n_public_if);
	check_interfaces(md->private_if, md->n_private_if);
	check_address(AF_INET, md->floating_ipv4, sizeof md->floating_ipv4);
	(void)metadata_private_ipv4(md);
	(void)metadata_public_if(md);
	metadata_free(md);
	free(cause);
	return 0;
}
