/*
 * The droplet metadata document, parsed into struct metadata.
 *
 * MUST:
 * - accept every shape real droplets produce (see DESIGN.md "Metadata") and ignore
 *   keys we do not know; reject anything else with a message that names the field;
 * - never put user_data into a message: it may hold the Redis password;
 * - quote other values only truncated and with non-printable bytes escaped;
 * - erase the user data held in our buffers and in the JSON tree before freeing them;
 * - fetching, log nothing and quote no response body: a failed attempt is remembered
 *   as its status, curl's error or the parser's message, and only the last one is told.
 */
#include "autoconfig.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <json-c/json.h>

#include "backoff.h"
#include "buf.h"
#include "fileio.h"
#include "httpget.h"
#include "metadata.h"
#include "netaddr.h"
#include "strutil.h"
#include "strv.h"

#define PATH_SIZE 128
#define QUOTE_MAX 64
#define DROPLET_ID_DIGITS_MAX 20
#define HOSTNAME_MAX 253
#define REGION_MAX 32
#define URL_QUOTE_MAX 256

/* How metadata_fetch asks. */
#define FETCH_CONNECT_TIMEOUT_MS 2000
#define FETCH_TIMEOUT_MS 10000
#define FETCH_BACKOFF_INITIAL_MS 250
#define FETCH_BACKOFF_MAX_MS 5000
/* Every 0.25 s for the first 10 s: the service normally answers within seconds of the
 * network coming up, and a try that just missed it should not cost a doubled wait. */
#define FETCH_BACKOFF_STEADY_MS 10000

#define DIGITS "0123456789"
#define LOWER "abcdefghijklmnopqrstuvwxyz"
#define UPPER "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
#define HEX DIGITS "abcdefABCDEF"
#define HOSTNAME_CHARS DIGITS LOWER UPPER ".-_"
#define REGION_CHARS DIGITS LOWER "-"

/* Flags for fields. */
enum {
	OPTIONAL = 0,
	REQUIRED = 1 << 0,	/* absent or null is an error */
	EMPTY_OK = 1 << 1,	/* "" reads as absent */
};

DEFINE_TRIVIAL_CLEANUP_FUNC(json_tokener *, json_tokener_free)

static const char *type_noun(json_type type)
{
	switch (type) {
	case json_type_null:
		return "null";
	case json_type_boolean:
		return "a boolean";
	case json_type_double:
		return "a number";
	case json_type_int:
		return "an integer";
	case json_type_object:
		return "an object";
	case json_type_array:
		return "an array";
	case json_type_string:
		return "a string";
	}
	return "an unknown type";
}

static const char *type_name(json_object *o)
{
	return type_noun(json_object_get_type(o));
}

/* Replaces *cause with a new message; returns error, or -ENOMEM (*cause is then NULL). */
static _printf_(3, 4) int fail(int error, char **cause, const char *fmt, ...)
{
	_cleanup_buf_ struct buf b = BUF_INIT;
	va_list ap;
	int r;

	free(*cause);
	*cause = NULL;
	va_start(ap, fmt);
	r = buf_vprintf(&b, fmt, ap);
	va_end(ap);
	if (r < 0)
		return r;
	*cause = buf_steal(&b, NULL);
	return *cause ? error : -ENOMEM;
}

/* Appends s in double quotes: at most QUOTE_MAX bytes of it, anything not printable ASCII
 * as \xNN, and "..." when cut. */
static int quote(struct buf *b, const char *s, size_t len)
{
	size_t n = len < QUOTE_MAX ? len : QUOTE_MAX;
	int r = buf_putc(b, '"');

	for (size_t i = 0; r >= 0 && i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\')
			r = buf_printf(b, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			r = buf_printf(b, "\\x%02x", c);
		else
			r = buf_putc(b, (char)c);
	}
	if (r >= 0)
		r = buf_puts(b, n < len ? "\"..." : "\"");
	return r;
}

/* "path: what: "value"" as -EBADMSG. Never pass user data as value. */
static int bad_value(char **cause, const char *path, const char *what, const char *value,
		     size_t len)
{
	_cleanup_buf_ struct buf q = BUF_INIT;
	int r = quote(&q, value, len);

	if (r < 0)
		return r;
	return fail(-EBADMSG, cause, "%s: %s: %s", path, what, q.data);
}

/* Our keys and the cap on the document keep paths short; a long one is cut with "...". */
static _printf_(2, 3) void path_printf(char path[static PATH_SIZE], const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(path, PATH_SIZE, fmt, ap);
	va_end(ap);
	if (n < 0 || n >= PATH_SIZE)
		strcpy(path + PATH_SIZE - 4, "...");
}

static void path_join(char path[static PATH_SIZE], const char *parent, const char *key)
{
	path_printf(path, "%s%s%s", parent, *parent ? "." : "", key);
}

/* The member key of obj (parent is obj's path, "" for the document) with the given type:
 * *ret is NULL when it is absent or null, an error when REQUIRED. */
static int field(json_object *obj, const char *parent, const char *key, json_type type,
		 unsigned flags, json_object **ret, char **cause)
{
	char path[PATH_SIZE];
	json_object *v = NULL;
	bool present = json_object_object_get_ex(obj, key, &v);

	if (json_object_is_type(v, type) || (!v && !(flags & REQUIRED))) {
		*ret = v;
		return 0;
	}
	path_join(path, parent, key);
	if (!present)
		return fail(-EBADMSG, cause, "%s: missing", path);
	return fail(-EBADMSG, cause, "%s: expected %s%s, got %s", path, type_noun(type),
		    flags & REQUIRED ? "" : " or null", type_name(v));
}

/* v, a string at path or NULL, must not contain NUL bytes; *ret is NULL when v is
 * (or when it is "" with EMPTY_OK). */
static int checked_string(json_object *v, const char *path, unsigned flags, const char **ret,
			  char **cause)
{
	const char *s = v ? json_object_get_string(v) : NULL;
	size_t len = v ? (size_t)json_object_get_string_len(v) : 0;

	if (s && memchr(s, '\0', len))
		return bad_value(cause, path, "contains a NUL byte", s, len);
	*ret = s && (len > 0 || !(flags & EMPTY_OK)) ? s : NULL;
	return 0;
}

/* A string member without NUL bytes; *ret is NULL when absent or null. */
static int text(json_object *obj, const char *parent, const char *key, unsigned flags,
		const char **ret, char **cause)
{
	char path[PATH_SIZE];
	json_object *v = NULL;
	int r;

	r = field(obj, parent, key, json_type_string, flags, &v, cause);
	if (r < 0)
		return r;
	path_join(path, parent, key);
	return checked_string(v, path, flags, ret, cause);
}

/* A string of 1..max bytes, all from charset; strdup'd into *ret. */
static int name(json_object *obj, const char *key, const char *charset, size_t max,
		const char *what, char **ret, char **cause)
{
	const char *s = NULL;
	size_t len;
	int r;

	r = text(obj, "", key, REQUIRED, &s, cause);
	if (r < 0)
		return r;
	len = strlen(s);
	if (len == 0 || len > max || strspn(s, charset) != len)
		return bad_value(cause, key, what, s, len);
	*ret = strdup(s);
	return *ret ? 0 : -ENOMEM;
}

static int optional_text(json_object *obj, const char *key, char **ret, char **cause)
{
	const char *s = NULL;
	int r;

	r = text(obj, "", key, OPTIONAL, &s, cause);
	if (r < 0 || !s)
		return r;
	*ret = strdup(s);
	return *ret ? 0 : -ENOMEM;
}

/* Copies text into a fixed field of size bytes when it fits. */
static int fixed_text(json_object *obj, const char *parent, const char *key, char *out, size_t size,
		      char **cause)
{
	char path[PATH_SIZE];
	const char *s = NULL;
	size_t len;
	int r;

	r = text(obj, parent, key, OPTIONAL, &s, cause);
	if (r < 0 || !s)
		return r;
	len = strlen(s);
	if (len >= size) {
		path_join(path, parent, key);
		return bad_value(cause, path, "too long", s, len);
	}
	memcpy(out, s, len + 1);
	return 0;
}

static bool valid_droplet_id(const char *s, size_t len)
{
	return len > 0 && len <= DROPLET_ID_DIGITS_MAX && s[0] != '0' && strspn(s, DIGITS) == len;
}

/* json-c saturates integers that do not fit: UINT64_MAX may stand for any larger number. */
static int droplet_id_from_number(json_object *v, char **ret, char **cause)
{
	const char *text_form = json_object_to_json_string(v);
	char digits[DROPLET_ID_DIGITS_MAX + 1];
	uint64_t id;

	if (json_object_get_int64(v) <= 0)
		return bad_value(cause, "droplet_id", "not a positive integer", text_form,
				 strlen(text_form));
	id = json_object_get_uint64(v);
	if (id == UINT64_MAX)
		return fail(-EBADMSG, cause, "droplet_id: out of range");
	snprintf(digits, sizeof digits, "%" PRIu64, id);
	*ret = strdup(digits);
	return *ret ? 0 : -ENOMEM;
}

static int droplet_id_from_string(json_object *v, char **ret, char **cause)
{
	const char *s = json_object_get_string(v);
	size_t len = (size_t)json_object_get_string_len(v);

	if (!valid_droplet_id(s, len))
		return bad_value(cause, "droplet_id", "not a positive decimal integer", s, len);
	*ret = strdup(s);
	return *ret ? 0 : -ENOMEM;
}

static int parse_droplet_id(json_object *root, struct metadata *md, char **cause)
{
	json_object *v = NULL;

	if (!json_object_object_get_ex(root, "droplet_id", &v))
		return fail(-EBADMSG, cause, "droplet_id: missing");
	if (json_object_is_type(v, json_type_int))
		return droplet_id_from_number(v, &md->droplet_id, cause);
	if (json_object_is_type(v, json_type_string))
		return droplet_id_from_string(v, &md->droplet_id, cause);
	return fail(-EBADMSG, cause,
		    "droplet_id: expected an integer or a string of digits, got %s", type_name(v));
}

/* The user data may contain NUL bytes: keep them and the length, the caller decides. */
static int parse_user_data(json_object *root, struct metadata *md, char **cause)
{
	json_object *v = NULL;
	size_t len;
	int r;

	r = field(root, "", "user_data", json_type_string, OPTIONAL, &v, cause);
	if (r < 0 || !v)
		return r;
	len = (size_t)json_object_get_string_len(v);
	md->user_data = malloc(len + 1);
	if (!md->user_data)
		return -ENOMEM;
	memcpy(md->user_data, json_object_get_string(v), len);
	md->user_data[len] = '\0';
	md->user_data_len = len;
	return 0;
}

static int strv_element(json_object *a, size_t i, const char *path, char **ret, char **cause)
{
	json_object *v = json_object_array_get_idx(a, i);
	char element[PATH_SIZE];
	const char *s = NULL;
	int r;

	path_printf(element, "%s[%zu]", path, i);
	if (!json_object_is_type(v, json_type_string))
		return fail(-EBADMSG, cause, "%s: expected a string, got %s", element,
			    type_name(v));
	r = checked_string(v, element, REQUIRED, &s, cause);
	if (r < 0)
		return r;
	*ret = strdup(s);
	return *ret ? 0 : -ENOMEM;
}

/* The strings of array a (NULL for none) as a new NULL-terminated list. */
static int strv_from_array(json_object *a, const char *path, char ***ret, char **cause)
{
	size_t n = a ? json_object_array_length(a) : 0;
	_cleanup_strv_ char **l = calloc(n + 1, sizeof *l);
	int r;

	if (!l)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		r = strv_element(a, i, path, &l[i], cause);
		if (r < 0)
			return r;
	}
	*ret = TAKE_PTR(l);
	return 0;
}

/* A list of strings, absent or null (and "" with EMPTY_OK) as an empty list. */
static int parse_strv(json_object *obj, const char *parent, const char *key, unsigned flags,
		      char ***ret, char **cause)
{
	char path[PATH_SIZE];
	json_object *v = NULL;

	path_join(path, parent, key);
	json_object_object_get_ex(obj, key, &v);
	if (json_object_is_type(v, json_type_array) || !v)
		return strv_from_array(v, path, ret, cause);
	if ((flags & EMPTY_OK) && json_object_is_type(v, json_type_string) &&
	    json_object_get_string_len(v) == 0)
		return strv_from_array(NULL, path, ret, cause);
	return fail(-EBADMSG, cause, "%s: expected a list of strings%s or null, got %s", path,
		    flags & EMPTY_OK ? ", \"\"" : "", type_name(v));
}

static int parse_dns(json_object *root, struct metadata *md, char **cause)
{
	json_object *dns = NULL;
	int r;

	r = field(root, "", "dns", json_type_object, OPTIONAL, &dns, cause);
	if (r < 0)
		return r;
	return parse_strv(dns, "dns", "nameservers", OPTIONAL, &md->nameservers, cause);
}

/* An address member in canonical form (out holds INET_ADDRSTRLEN or INET6_ADDRSTRLEN bytes
 * for the family); "" when absent and allowed. ret_bin, when not NULL, receives it binary. */
static int address(json_object *obj, const char *parent, const char *key, int family,
		   unsigned flags, char *out, void *ret_bin, char **cause)
{
	unsigned char bin[sizeof(struct in6_addr)];
	char path[PATH_SIZE];
	const char *s = NULL, *what;
	int r;

	r = text(obj, parent, key, flags, &s, cause);
	if (r < 0)
		return r;
	if (!s) {
		out[0] = '\0';
		return 0;
	}
	if (inet_pton(family, s, bin) != 1) {
		path_join(path, parent, key);
		what = family == AF_INET ? "not an IPv4 address" : "not an IPv6 address";
		return bad_value(cause, path, what, s, strlen(s));
	}
	if (!inet_ntop(family, bin, out, family == AF_INET ? INET_ADDRSTRLEN : INET6_ADDRSTRLEN))
		return -errno;
	if (ret_bin)
		memcpy(ret_bin, bin,
		       family == AF_INET ? sizeof(struct in_addr) : sizeof(struct in6_addr));
	return 0;
}

static int parse_ipv4(json_object *obj, const char *parent, const char *key,
		      struct metadata_ipv4 *out, char **cause)
{
	char path[PATH_SIZE], mask_path[PATH_SIZE];
	json_object *v = NULL;
	int r, prefix;

	r = field(obj, parent, key, json_type_object, OPTIONAL, &v, cause);
	if (r < 0 || !v)
		return r;
	path_join(path, parent, key);
	r = address(v, path, "ip_address", AF_INET, REQUIRED, out->address, NULL, cause);
	if (r < 0)
		return r;
	r = address(v, path, "netmask", AF_INET, REQUIRED, out->netmask, NULL, cause);
	if (r < 0)
		return r;
	prefix = netaddr_netmask_prefix(out->netmask);
	if (prefix < 0) {
		path_join(mask_path, path, "netmask");
		return bad_value(cause, mask_path, "not a contiguous netmask", out->netmask,
				 strlen(out->netmask));
	}
	r = address(v, path, "gateway", AF_INET, EMPTY_OK, out->gateway, NULL, cause);
	if (r < 0)
		return r;
	out->prefix = (unsigned)prefix;
	out->present = true;
	return 0;
}

static int parse_ipv6(json_object *obj, const char *parent, struct metadata_ipv6 *out, char **cause)
{
	char path[PATH_SIZE], cidr_path[PATH_SIZE];
	json_object *v = NULL, *cidr = NULL;
	int64_t prefix;
	int r;

	r = field(obj, parent, "ipv6", json_type_object, OPTIONAL, &v, cause);
	if (r < 0 || !v)
		return r;
	path_join(path, parent, "ipv6");
	r = address(v, path, "ip_address", AF_INET6, REQUIRED, out->address, NULL, cause);
	if (r < 0)
		return r;
	r = field(v, path, "cidr", json_type_int, REQUIRED, &cidr, cause);
	if (r < 0)
		return r;
	prefix = json_object_get_int64(cidr);
	if (prefix < 0 || prefix > 128) {
		path_join(cidr_path, path, "cidr");
		return fail(-EBADMSG, cause, "%s: %s is not a prefix length (0..128)", cidr_path,
			    json_object_to_json_string(cidr));
	}
	r = address(v, path, "gateway", AF_INET6, EMPTY_OK, out->gateway, NULL, cause);
	if (r < 0)
		return r;
	out->prefix = (unsigned)prefix;
	out->present = true;
	return 0;
}

static bool valid_mac(const char *s)
{
	if (strlen(s) != 17)
		return false;
	for (size_t i = 0; i < 17; i++)
		if (i % 3 == 2 ? s[i] != ':' : !strchr(HEX, s[i]))
			return false;
	return true;
}

/* Six colon-separated pairs of hex digits, stored in lower case. */
static int parse_mac(json_object *obj, const char *parent, char out[static 18], char **cause)
{
	char path[PATH_SIZE];
	const char *s = NULL;
	int r;

	r = text(obj, parent, "mac", OPTIONAL, &s, cause);
	if (r < 0 || !s)
		return r;
	if (!valid_mac(s)) {
		path_join(path, parent, "mac");
		return bad_value(cause, path, "not a MAC address", s, strlen(s));
	}
	for (size_t i = 0; i <= 17; i++)
		out[i] = (s[i] >= 'A' && s[i] <= 'F') ? (char)(s[i] - 'A' + 'a') : s[i];
	return 0;
}

static int parse_interface(json_object *obj, const char *path, const char *kind,
			   struct metadata_interface *ifc, char **cause)
{
	char type_path[PATH_SIZE];
	int r;

	r = parse_ipv4(obj, path, "ipv4", &ifc->ipv4, cause);
	if (r < 0)
		return r;
	r = parse_ipv4(obj, path, "anchor_ipv4", &ifc->anchor_ipv4, cause);
	if (r < 0)
		return r;
	r = parse_ipv6(obj, path, &ifc->ipv6, cause);
	if (r < 0)
		return r;
	r = parse_mac(obj, path, ifc->mac, cause);
	if (r < 0)
		return r;
	r = fixed_text(obj, path, "type", ifc->type, sizeof ifc->type, cause);
	if (r < 0)
		return r;
	if (ifc->type[0] && strcmp(ifc->type, kind) != 0) {
		path_join(type_path, path, "type");
		return bad_value(cause, type_path, "does not match the list it is in", ifc->type,
				 strlen(ifc->type));
	}
	return 0;
}

/* interfaces.<kind>: absent, null or a list of interface objects. */
static int parse_interface_list(json_object *ifs, const char *kind, struct metadata_interface **ret,
				size_t *ret_n, char **cause)
{
	_cleanup_free_ struct metadata_interface *a = NULL;
	char path[PATH_SIZE];
	json_object *list = NULL;
	size_t n;
	int r;

	r = field(ifs, "interfaces", kind, json_type_array, OPTIONAL, &list, cause);
	if (r < 0)
		return r;
	n = list ? json_object_array_length(list) : 0;
	if (n > 0) {
		a = calloc(n, sizeof *a);
		if (!a)
			return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(list, i);

		path_printf(path, "interfaces.%s[%zu]", kind, i);
		if (!json_object_is_type(e, json_type_object))
			return fail(-EBADMSG, cause, "%s: expected an object, got %s", path,
				    type_name(e));
		r = parse_interface(e, path, kind, &a[i], cause);
		if (r < 0)
			return r;
	}
	*ret = TAKE_PTR(a);
	*ret_n = n;
	return 0;
}

static int parse_interfaces(json_object *root, struct metadata *md, char **cause)
{
	json_object *ifs = NULL;
	int r;

	r = field(root, "", "interfaces", json_type_object, REQUIRED, &ifs, cause);
	if (r < 0)
		return r;
	r = parse_interface_list(ifs, "public", &md->public_if, &md->n_public_if, cause);
	if (r < 0)
		return r;
	return parse_interface_list(ifs, "private", &md->private_if, &md->n_private_if, cause);
}

/* <key>.ipv4.ip_address when <key>.ipv4.active is true, else "". */
static int parse_reserved(json_object *root, const char *key, char out[static INET_ADDRSTRLEN],
			  char **cause)
{
	char path[PATH_SIZE];
	json_object *v = NULL, *ipv4 = NULL, *active = NULL;
	int r;

	out[0] = '\0';
	r = field(root, "", key, json_type_object, OPTIONAL, &v, cause);
	if (r < 0 || !v)
		return r;
	r = field(v, key, "ipv4", json_type_object, OPTIONAL, &ipv4, cause);
	if (r < 0 || !ipv4)
		return r;
	path_join(path, key, "ipv4");
	r = field(ipv4, path, "active", json_type_boolean, OPTIONAL, &active, cause);
	if (r < 0 || !json_object_get_boolean(active))
		return r;
	return address(ipv4, path, "ip_address", AF_INET, REQUIRED, out, NULL, cause);
}

/* reserved_ip is the current name of floating_ip; when both are active they must agree. */
static int parse_floating_ip(json_object *root, struct metadata *md, char **cause)
{
	char floating[INET_ADDRSTRLEN];
	int r;

	r = parse_reserved(root, "reserved_ip", md->floating_ipv4, cause);
	if (r < 0)
		return r;
	r = parse_reserved(root, "floating_ip", floating, cause);
	if (r < 0)
		return r;
	if (!md->floating_ipv4[0])
		memcpy(md->floating_ipv4, floating, sizeof floating);
	else if (floating[0] && strcmp(floating, md->floating_ipv4) != 0)
		return bad_value(cause, "reserved_ip.ipv4.ip_address",
				 "differs from floating_ip.ipv4.ip_address", md->floating_ipv4,
				 strlen(md->floating_ipv4));
	return 0;
}

static int parse_hostname(json_object *root, struct metadata *md, char **cause)
{
	return name(root, "hostname", HOSTNAME_CHARS, HOSTNAME_MAX, "not a valid hostname",
		    &md->hostname, cause);
}

static int parse_region(json_object *root, struct metadata *md, char **cause)
{
	return name(root, "region", REGION_CHARS, REGION_MAX, "not a region slug", &md->region,
		    cause);
}

static int parse_vendor_data(json_object *root, struct metadata *md, char **cause)
{
	return optional_text(root, "vendor_data", &md->vendor_data, cause);
}

static int parse_public_keys(json_object *root, struct metadata *md, char **cause)
{
	return parse_strv(root, "", "public_keys", EMPTY_OK, &md->public_keys, cause);
}

static int parse_tags(json_object *root, struct metadata *md, char **cause)
{
	return parse_strv(root, "", "tags", OPTIONAL, &md->tags, cause);
}

/* Each fills its part of struct metadata from the document. */
static int (*const parsers[])(json_object *root, struct metadata *md, char **cause) = {
	parse_droplet_id,
	parse_hostname,
	parse_region,
	parse_user_data,
	parse_vendor_data,
	parse_public_keys,
	parse_tags,
	parse_dns,
	parse_interfaces,
	parse_floating_ip,
};

static int parse_root(json_object *root, struct metadata **ret, char **cause)
{
	_cleanup_metadata_ struct metadata *md = calloc(1, sizeof *md);
	int r;

	if (!md)
		return -ENOMEM;
	for (size_t i = 0; i < ELEMENTSOF(parsers); i++) {
		r = parsers[i](root, md, cause);
		if (r < 0)
			return r;
	}
	*ret = TAKE_PTR(md);
	return 0;
}

static bool only_whitespace(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		switch (s[i]) {
		case ' ':
		case '\t':
		case '\r':
		case '\n':
			break;
		default:
			return false;
		}
	return true;
}

/* json-c does not erase what it frees: erase the user data inside the tree first. The
 * string belongs to the tree, which nobody else references. */
static void erase_user_data(json_object *root)
{
	json_object *v = json_object_object_get(root, "user_data");

	if (json_object_is_type(v, json_type_string))
		explicit_bzero((char *)json_object_get_string(v),
			       (size_t)json_object_get_string_len(v));
}

static void document_freep(json_object **root)
{
	if (!*root)
		return;
	erase_user_data(*root);
	json_object_put(*root);
}

/* Parses exactly one JSON object, allowing whitespace around it. */
static int parse_json(const char *doc, size_t len, json_object **ret, char **cause)
{
	_cleanup_(json_tokener_freep) json_tokener *tok = NULL;
	_cleanup_(document_freep) json_object *o = NULL;
	enum json_tokener_error error;
	size_t end;

	tok = json_tokener_new();
	if (!tok)
		return -ENOMEM;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_ALLOW_TRAILING_CHARS |
				    JSON_TOKENER_VALIDATE_UTF8);
	o = json_tokener_parse_ex(tok, doc, (int)len);
	error = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	if (error == json_tokener_continue)
		return fail(-EBADMSG, cause, "document: %s",
			    only_whitespace(doc, len) ? "empty" : "truncated");
	if (error != json_tokener_success)
		return fail(-EBADMSG, cause, "document: not valid JSON at byte %zu: %s", end,
			    json_tokener_error_desc(error));
	if (!only_whitespace(doc + end, len - end))
		return fail(-EBADMSG, cause,
			    "document: unexpected data after the JSON value at byte %zu", end);
	if (!json_object_is_type(o, json_type_object))
		return fail(-EBADMSG, cause, "document: expected an object, got %s", type_name(o));
	*ret = TAKE_PTR(o);
	return 0;
}

/* *ret_cause may be NULL (no message wanted); after -ENOMEM it may be set to NULL. */
int metadata_parse(const char *doc, size_t len, struct metadata **ret, char **ret_cause)
{
	_cleanup_(document_freep) json_object *root = NULL;
	_cleanup_metadata_ struct metadata *md = NULL;
	_cleanup_free_ char *cause = NULL;
	int r;

	if (len > METADATA_MAX_SIZE)
		r = fail(-E2BIG, &cause, "document: %zu bytes, more than the limit of %d", len,
			 METADATA_MAX_SIZE);
	else
		r = parse_json(doc, len, &root, &cause);
	if (r >= 0)
		r = parse_root(root, &md, &cause);
	if (r < 0) {
		if (ret_cause)
			*ret_cause = TAKE_PTR(cause);
		return r;
	}
	*ret = TAKE_PTR(md);
	return 0;
}

int metadata_load_file(const char *path, struct metadata **ret, char **ret_cause)
{
	_cleanup_erase_ char *doc = NULL;
	_cleanup_free_ char *cause = NULL;
	size_t len;
	int r;

	r = fileio_read_file(path, METADATA_MAX_SIZE, &doc, &len);
	if (r == -E2BIG)
		r = fail(r, &cause, "%s: more than %d bytes", path, METADATA_MAX_SIZE);
	else if (r < 0)
		r = fail(r, &cause, "%s: %s", path, strerror(-r));
	if (r < 0) {
		if (ret_cause)
			*ret_cause = TAKE_PTR(cause);
		return r;
	}
	r = metadata_parse(doc, len, ret, ret_cause);
	explicit_bzero(doc, len);
	return r;
}

/* base_url with METADATA_PATH appended, unless it already names a .json document. */
static char *fetch_url(const char *base_url)
{
	_cleanup_buf_ struct buf b = BUF_INIT;
	size_t len = strlen(base_url);

	if (len >= 5 && strcmp(base_url + len - 5, ".json") == 0)
		return strdup(base_url);
	while (len > 0 && base_url[len - 1] == '/')
		len--;
	if (buf_append(&b, base_url, len) < 0 || buf_puts(&b, METADATA_PATH) < 0)
		return NULL;
	return buf_steal(&b, NULL);
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* One request for url with at most left_ms to spend. Returns 0 with *ret set, or a
 * negative errno with *cause saying what was wrong with this attempt. */
static int fetch_once(const char *url, uint64_t left_ms, struct metadata **ret, char **cause)
{
	const struct httpget_request req = {
		.url = url,
		.accept = "application/json",
		.connect_timeout_ms = (long)min_u64(FETCH_CONNECT_TIMEOUT_MS, left_ms),
		.timeout_ms = (long)min_u64(FETCH_TIMEOUT_MS, left_ms),
		.max_body = METADATA_MAX_SIZE,
	};
	_cleanup_(httpget_response_done) struct httpget_response resp = { 0 };
	_cleanup_free_ char *why = NULL;
	int r;

	free(*cause);
	*cause = NULL;
	r = httpget(&req, &resp, &why);
	if (r < 0) {
		*cause = TAKE_PTR(why);
		return r;
	}
	if (resp.status != 200)
		return fail(-EIO, cause, "HTTP status %ld", resp.status);
	r = metadata_parse(resp.body, resp.len, ret, &why);
	if (r == -ENOMEM)
		return r;
	if (r < 0)
		return fail(r, cause, "the document is not valid: %s", why ? why : strerror(-r));
	return 0;
}

/* Asks until one answer is good or the deadline passes. Returns 0 (*ret set), -ETIMEDOUT,
 * -EINVAL (a URL the client cannot use: no retry would help) or -ENOMEM; counts the attempts
 * in *attempts and leaves the last one's failure in *last. */
static int fetch_until(const char *url, uint64_t deadline_ms,
		       struct metadata **ret, unsigned *attempts, char **last)
{
	struct backoff b;
	int r;

	backoff_init(&b, FETCH_BACKOFF_INITIAL_MS, FETCH_BACKOFF_MAX_MS, deadline_ms);
	backoff_steady(&b, FETCH_BACKOFF_STEADY_MS);
	do {
		uint64_t left = backoff_remaining_ms(&b);

		if (left == 0)
			break;
		(*attempts)++;
		r = fetch_once(url, left, ret, last);
		if (r == 0 || r == -ENOMEM || r == -EINVAL)
			return r;
	} while (backoff_wait(&b, 0));
	return -ETIMEDOUT;
}

int metadata_fetch(const char *base_url, uint64_t deadline_ms, struct metadata **ret,
		   char **ret_cause)
{
	_cleanup_free_ char *url = NULL, *shown = NULL, *last = NULL, *cause = NULL;
	unsigned attempts = 0;
	int r;

	url = fetch_url(base_url);
	if (!url)
		return -ENOMEM;
	shown = strutil_quote(url, URL_QUOTE_MAX);
	if (!shown)
		return -ENOMEM;
	if (deadline_ms == 0)
		r = fail(-EINVAL, &cause, "metadata service %s: a deadline of 0", shown);
	else {
		r = fetch_until(url, deadline_ms, ret, &attempts, &last);
		if (r == 0 || r == -ENOMEM)
			return r;
		if (r == -EINVAL)
			r = fail(r, &cause, "metadata service %s: %s", shown,
				 last ? last : "not a usable URL");
		else
			r = fail(r, &cause,
				 "metadata service %s: no usable answer in %g s after %u attempt%s; last: %s",
				 shown, (double)deadline_ms / 1000.0, attempts, attempts == 1 ? "" : "s",
				 last ? last : "none");
	}
	if (ret_cause)
		*ret_cause = TAKE_PTR(cause);
	return r;
}

const struct metadata_ipv4 *metadata_private_ipv4(const struct metadata *md)
{
	if (md->n_private_if == 0 || !md->private_if[0].ipv4.present)
		return NULL;
	return &md->private_if[0].ipv4;
}

const struct metadata_interface *metadata_public_if(const struct metadata *md)
{
	return md->n_public_if > 0 ? &md->public_if[0] : NULL;
}

void metadata_free(struct metadata *md)
{
	if (!md)
		return;
	free(md->droplet_id);
	free(md->hostname);
	free(md->region);
	if (md->user_data) {
		explicit_bzero(md->user_data, md->user_data_len);
		free(md->user_data);
	}
	free(md->vendor_data);
	strv_free(md->public_keys);
	strv_free(md->tags);
	strv_free(md->nameservers);
	free(md->public_if);
	free(md->private_if);
	free(md);
}
