/*
 * The ufw backend: the policy as ufw rules of our own, each with the comment
 * "doagent", made by running /usr/sbin/ufw; metadata = root-only as a small
 * nftables table of our own (inet doagent_output), since ufw's command line has no
 * owner match. ufw keeps its rules across reboots itself (ufw.service).
 *
 * MUST rules for this file:
 * - ufw runs through execve with an argument array (process_run), never a shell. An
 *   address becomes an argument only after an allow-list check ([0-9a-fA-F.:/]) and
 *   a parse; a port only as a number printed here; a rule ufw lists back to us only
 *   token by token, each from an allow-list.
 * - Only rules with the comment doagent are changed. ufw replaces a rule that differs
 *   from a new one only in its comment or action, which would make the admin's rule
 *   ours (and remove() would delete it): a rule the admin already has for the same
 *   protocol, port and source is therefore not added; theirs stays, unchanged.
 * - remove() leaves ufw enabled or disabled as it was.
 * - Every ufw run is bounded in time; every failure names the command and ufw's
 *   output (which holds no secret: nothing secret is ever passed to ufw).
 */
#include "autoconfig.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "buf.h"
#include "fileio.h"
#include "fw.h"
#include "macro.h"
#include "netaddr.h"
#include "nftlib.h"
#include "process.h"
#include "strutil.h"
#include "strv.h"

#define UFW "/usr/sbin/ufw"
#define UFW_TIMEOUT_MS (30 * 1000)
#define UFW_COMMENT "doagent"
/* How ufw stores the comment in its rules files: hex of "doagent". */
#define UFW_COMMENT_FIELD "comment=646f6167656e74"
/* How "ufw show added" prints it at the end of a rule. */
#define UFW_SHOWN_SUFFIX " comment '" UFW_COMMENT "'"
#define UFW_USER_RULES "/etc/ufw/user.rules"
#define UFW_USER6_RULES "/etc/ufw/user6.rules"
#define UFW_RULES_FILE_MAX (4 * 1024 * 1024)
/* Tokens of a rule "ufw show added" lists; ours have 10. */
#define UFW_SPEC_TOKENS_MAX 24
#define UFW_SPEC_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:/,-"
#define CIDR_CHARS "0123456789abcdefABCDEF.:/"
#define OUTPUT_SHOWN_MAX 400

#define NFT_TABLE "inet doagent_output"
/* One transaction: replaces the table whether it was there or not. */
static const char nft_root_only[] =
	"add table " NFT_TABLE "; delete table " NFT_TABLE "; "
	"table " NFT_TABLE " { chain output { type filter hook output priority filter; policy accept; "
	"ip daddr 169.254.169.254 meta skuid != 0 drop; }; }";
static const char nft_list[] = "list table " NFT_TABLE;
static const char nft_delete[] = "delete table " NFT_TABLE;

/* LANG=C: the output parsed here is ufw's English text. */
static const char *const ufw_env[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C", "LC_ALL=C", NULL };

static const char *const ufw_status[] = { UFW, "status", NULL };
static const char *const ufw_show_added[] = { UFW, "show", "added", NULL };
static const char *const ufw_deny_incoming[] = { UFW, "default", "deny", "incoming", NULL };
static const char *const ufw_allow_outgoing[] = { UFW, "default", "allow", "outgoing", NULL };
static const char *const ufw_enable[] = { UFW, "--force", "enable", NULL };

/* One rule of ours: TCP to port from source. */
struct ufw_rule {
	const char *source;	/* a CIDR block of the policy */
	struct netaddr net;
	unsigned port;
};

#define UFW_RULE_ARGC 13
struct ufw_rule_argv {
	const char *argv[UFW_RULE_ARGC];
	char port[8];
};

/* argv as a command line ("ufw" for the program): its arguments need no quoting, every one
 * is from an allow-list. NULL on ENOMEM. */
static char *command_text(const char *const argv[])
{
	_cleanup_buf_ struct buf b = BUF_INIT;
	size_t i;

	for (i = 0; argv[i]; i++) {
		const char *a = i == 0 && strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[i];

		if ((i > 0 && buf_putc(&b, ' ') < 0) || buf_puts(&b, a) < 0)
			return NULL;
	}
	return buf_steal(&b, NULL);
}

/* A program's output for a message: its non-empty lines joined with "; ", quoted and cut
 * (first_only: the first such line). Never NULL but on ENOMEM. */
static char *output_text(const char *out, bool first_only)
{
	_cleanup_buf_ struct buf b = BUF_INIT;
	_cleanup_free_ char *joined = NULL;
	const char *s = out ? out : "", *nl;

	for (; *s; s = nl ? nl + 1 : s + strlen(s)) {
		size_t len;

		nl = strchr(s, '\n');
		len = nl ? (size_t)(nl - s) : strlen(s);
		while (len > 0 && isspace((unsigned char)*s)) {
			s++;
			len--;
		}
		while (len > 0 && isspace((unsigned char)s[len - 1]))
			len--;
		if (len == 0)
			continue;
		if ((b.len > 0 && buf_puts(&b, "; ") < 0) || buf_append(&b, s, len) < 0)
			return NULL;
		if (first_only)
			break;
	}
	if (b.len == 0 && buf_puts(&b, "(no output)") < 0)
		return NULL;
	joined = buf_steal(&b, NULL);
	return joined ? strutil_quote(joined, OUTPUT_SHOWN_MAX) : NULL;
}

/* Run ufw; its output in *ret_output (when not NULL) on success. A failure to start it,
 * a timeout and a non-zero exit status are errors with the command and its output. */
static int run_ufw(const char *const argv[], char **ret_output, char **ret_cause)
{
	_cleanup_free_ char *out = NULL, *text = NULL, *shown = NULL;
	int status = 0, r;

	r = process_run(argv, ufw_env, UFW_TIMEOUT_MS, &status, &out);
	if (r < 0 || status != 0) {
		text = command_text(argv);
		if (r == -ETIMEDOUT)
			return strutil_cause(ret_cause, r, "%s: no answer within %d s", text ? text : "ufw",
				    UFW_TIMEOUT_MS / 1000);
		if (r < 0)
			return strutil_cause(ret_cause, r, "%s: %s", text ? text : "ufw", strerror(-r));
		shown = output_text(out, false);
		return strutil_cause(ret_cause, -EIO, "%s: exit status %d: %s", text ? text : "ufw", status,
			    shown ? shown : "(out of memory)");
	}
	if (ret_output)
		*ret_output = TAKE_PTR(out);
	return 0;
}

static bool has_line(const char *text, const char *line)
{
	size_t n = strlen(line);
	const char *s;

	for (s = text; s && *s; s = strchr(s, '\n'), s = s ? s + 1 : NULL)
		if (strncmp(s, line, n) == 0 && (s[n] == '\n' || s[n] == '\0'))
			return true;
	return false;
}

/* ---- the policy as rules ---- */

/* 0 when s is a CIDR block of family, checked against an allow-list and parsed, with no
 * host bits under its prefix (the plan normalizes them). */
static int check_source(const char *s, int family, struct netaddr *ret)
{
	bool host_bits = false;

	if (!s || !*s || strlen(s) >= NETADDR_STRLEN || strspn(s, CIDR_CHARS) != strlen(s))
		return -EINVAL;
	if (netaddr_parse(s, ret, &host_bits) < 0 || ret->family != family || host_bits)
		return -EINVAL;
	return 0;
}

static int add_rules(struct ufw_rule **rules, size_t *n, char *const *sources, int family, unsigned port,
		     char **ret_cause)
{
	for (; sources && *sources; sources++) {
		struct ufw_rule *v;
		struct netaddr net;

		if (check_source(*sources, family, &net) < 0) {
			_cleanup_free_ char *q = strutil_quote(*sources, 64);

			return strutil_cause(ret_cause, -EINVAL, "ufw: \"%s\" is not an %s network in CIDR form",
				    q ? q : "?", family == AF_INET ? "IPv4" : "IPv6");
		}
		v = reallocarray(*rules, *n + 1, sizeof(**rules));
		if (!v)
			return strutil_cause(ret_cause, -ENOMEM, "ufw: out of memory");
		v[(*n)++] = (struct ufw_rule){ *sources, net, port };
		*rules = v;
	}
	return 0;
}

/* The rules of p in order: SSH from ssh4 and ssh6, then each open port from allow4 and
 * allow6, then a replication group's ports from group4. Refuses anything that is not a
 * CIDR block of its family or a port number. */
static int policy_rules(const struct fw_policy *p, struct ufw_rule **ret, size_t *ret_n, char **ret_cause)
{
	_cleanup_free_ struct ufw_rule *rules = NULL;
	size_t n = 0, i;
	int r;

	if (p->ssh_port < 1 || p->ssh_port > 65535)
		return strutil_cause(ret_cause, -EINVAL, "ufw: SSH port %u is not a port", p->ssh_port);
	r = add_rules(&rules, &n, p->ssh4, AF_INET, p->ssh_port, ret_cause);
	if (r >= 0)
		r = add_rules(&rules, &n, p->ssh6, AF_INET6, p->ssh_port, ret_cause);
	for (i = 0; r >= 0 && i < ELEMENTSOF(p->ports); i++) {
		if (p->ports[i] == 0)
			continue;
		if (p->ports[i] > 65535)
			return strutil_cause(ret_cause, -EINVAL, "ufw: %u is not a port", p->ports[i]);
		r = add_rules(&rules, &n, p->allow4, AF_INET, p->ports[i], ret_cause);
		if (r >= 0)
			r = add_rules(&rules, &n, p->allow6, AF_INET6, p->ports[i], ret_cause);
	}
	/* A replication group's TLS and Sentinel ports, to the VPC. */
	for (i = 0; r >= 0 && i < ELEMENTSOF(p->group_ports); i++) {
		if (p->group_ports[i] == 0)
			continue;
		if (p->group_ports[i] > 65535)
			return strutil_cause(ret_cause, -EINVAL, "ufw: %u is not a port", p->group_ports[i]);
		r = add_rules(&rules, &n, p->group4, AF_INET, p->group_ports[i], ret_cause);
	}
	if (r < 0)
		return r;
	*ret = TAKE_PTR(rules);
	*ret_n = n;
	return 0;
}

/* ufw allow proto tcp from SOURCE to any port PORT comment doagent */
static void rule_argv(const struct ufw_rule *rule, struct ufw_rule_argv *ret)
{
	const char *argv[UFW_RULE_ARGC] = { UFW, "allow", "proto", "tcp", "from", rule->source, "to", "any",
					    "port", ret->port, "comment", UFW_COMMENT, NULL };

	snprintf(ret->port, sizeof(ret->port), "%u", rule->port);
	memcpy(ret->argv, argv, sizeof(argv));
}

/* ---- rules already there ---- */

/* The rules with our comment, as "ufw show added" lists them (without "ufw " and the
 * comment). It lists them whether ufw is enabled or not ("ufw status numbered" lists
 * nothing while ufw is inactive, and remove() must work then too). */
static int list_ours(char ***ret, char **ret_cause)
{
	_cleanup_free_ char *out = NULL;
	_cleanup_strv_ char **ours = NULL;
	size_t suffix = strlen(UFW_SHOWN_SUFFIX);
	char *line, *save = NULL;
	int r;

	r = run_ufw(ufw_show_added, &out, ret_cause);
	if (r < 0)
		return r;
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		size_t len = strlen(line);

		if (strncmp(line, "ufw ", 4) != 0 || len <= 4 + suffix ||
		    strcmp(line + len - suffix, UFW_SHOWN_SUFFIX) != 0)
			continue;
		line[len - suffix] = '\0';
		if (strv_extend(&ours, line + 4) < 0)
			return strutil_cause(ret_cause, -ENOMEM, "ufw: out of memory");
	}
	*ret = TAKE_PTR(ours);
	return 0;
}

/* Delete the rule "ufw show added" listed as "ufw SPEC comment 'doagent'": by its
 * specification, comment included, so that ufw deletes exactly that rule (with no
 * address in it, the IPv4 and the IPv6 one) and never one without our comment. */
static int delete_rule(const char *spec, char **ret_cause)
{
	_cleanup_free_ char *copy = strdup(spec);
	const char *argv[UFW_SPEC_TOKENS_MAX + 7];
	char *tok, *save = NULL;
	size_t n = 0;

	if (!copy)
		return strutil_cause(ret_cause, -ENOMEM, "ufw: out of memory");
	argv[n++] = UFW;
	argv[n++] = "--force";
	tok = strtok_r(copy, " ", &save);
	if (tok && strcmp(tok, "route") == 0) {
		argv[n++] = "route";
		tok = strtok_r(NULL, " ", &save);
	}
	argv[n++] = "delete";
	for (; tok; tok = strtok_r(NULL, " ", &save)) {
		if (n >= UFW_SPEC_TOKENS_MAX + 4 || tok[0] == '-' || strspn(tok, UFW_SPEC_CHARS) != strlen(tok)) {
			_cleanup_free_ char *q = strutil_quote(spec, 200);

			return strutil_cause(ret_cause, -EINVAL,
				    "ufw: cannot delete the rule \"ufw %s comment '%s'\": not a form doagent passes to ufw",
				    q ? q : "?", UFW_COMMENT);
		}
		argv[n++] = tok;
	}
	argv[n++] = "comment";
	argv[n++] = UFW_COMMENT;
	argv[n] = NULL;
	return run_ufw(argv, NULL, ret_cause);
}

static int delete_ours(char **ret_cause)
{
	_cleanup_strv_ char **ours = NULL, **left = NULL;
	char **s;
	int r;

	r = list_ours(&ours, ret_cause);
	for (s = ours; r >= 0 && s && *s; s++)
		r = delete_rule(*s, ret_cause);
	if (r < 0 || !ours)
		return r;
	r = list_ours(&left, ret_cause);
	if (r >= 0 && left) {
		_cleanup_free_ char *q = strutil_quote(left[0], 200);

		return strutil_cause(ret_cause, -EIO, "ufw: %zu rule(s) with comment '%s' are still there after deleting them: ufw %s",
			    strv_length(left), UFW_COMMENT, q ? q : "?");
	}
	return r;
}

/* Append to *tuples the rules ufw keeps in path ("### tuple ### ACTION PROTO DPORT DST
 * SPORT SRC [DAPP SAPP] DIRECTION [comment=HEX]") that are not ours. A missing file
 * holds none. */
static int read_tuples(const char *path, char ***tuples, char **ret_cause)
{
	static const char prefix[] = "### tuple ### ";
	_cleanup_free_ char *data = NULL;
	char *line, *save = NULL;
	size_t len;
	int r;

	r = fileio_read_file(path, UFW_RULES_FILE_MAX, &data, &len);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return strutil_cause(ret_cause, r, "ufw: cannot read %s: %s", path, strerror(-r));
	for (line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		size_t n = strlen(line), c = strlen(" " UFW_COMMENT_FIELD);

		if (strncmp(line, prefix, strlen(prefix)) != 0)
			continue;
		if (n > c && strcmp(line + n - c, " " UFW_COMMENT_FIELD) == 0)
			continue;
		if (strv_extend(tuples, line + strlen(prefix)) < 0)
			return strutil_cause(ret_cause, -ENOMEM, "ufw: out of memory");
	}
	return 0;
}

/* Whether tuple is a rule ufw would take as the same as rule but for its action, log
 * type or comment (and so replace with ours): TCP, to any address on rule's port, from
 * rule's source, from any port, inbound on any interface, not an application rule. */
static bool tuple_matches(const char *tuple, const struct ufw_rule *rule)
{
	char copy[512], *f[8], *tok, *save = NULL, port[8];
	struct netaddr dst, src;
	size_t n = 0;

	if (strlen(tuple) >= sizeof(copy))
		return false;
	strcpy(copy, tuple);
	for (tok = strtok_r(copy, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		if (strncmp(tok, "comment=", 8) == 0)
			break;
		if (n == ELEMENTSOF(f))
			return false;
		f[n++] = tok;
	}
	snprintf(port, sizeof(port), "%u", rule->port);
	if (n != 7 || strncmp(f[0], "route:", 6) == 0 || strcmp(f[1], "tcp") != 0 || strcmp(f[2], port) != 0 ||
	    strcmp(f[4], "any") != 0 || strcmp(f[6], "in") != 0)
		return false;
	if (netaddr_parse(f[3], &dst, NULL) < 0 || dst.family != rule->net.family || dst.prefix != 0)
		return false;
	return netaddr_parse(f[5], &src, NULL) == 0 && netaddr_equal(&src, &rule->net);
}

static bool admin_has(char *const *tuples, const struct ufw_rule *rule)
{
	for (; tuples && *tuples; tuples++)
		if (tuple_matches(*tuples, rule))
			return true;
	return false;
}

/* ---- metadata = root-only ---- */

static int nft_run(const char *commands, bool quiet, char **ret_cause)
{
	_cleanup_(nftlib_ctx_freep) struct nft_ctx *ctx = NULL;
	_cleanup_free_ char *shown = NULL;
	const struct nftlib *nft;
	int r;

	r = nftlib_load(&nft, ret_cause);
	if (r < 0)
		return r;
	ctx = nft->nft_ctx_new(NFT_CTX_DEFAULT);
	if (!ctx || nft->nft_ctx_buffer_output(ctx) < 0 || nft->nft_ctx_buffer_error(ctx) < 0)
		return strutil_cause(ret_cause, -ENOMEM, "nft: out of memory");
	if (nft->nft_run_cmd_from_buffer(ctx, commands) == 0)
		return 0;
	if (quiet)
		return -EIO;
	shown = output_text(nft->nft_ctx_get_error_buffer(ctx), true);
	return strutil_cause(ret_cause, -EIO, "nft '%s': %s", commands, shown ? shown : "(out of memory)");
}

/* Load or drop table inet doagent_output. When it is not there (or nftables is not usable
 * at all) with metadata open, there is nothing to do. */
static int metadata_table(bool root_only, char **ret_cause)
{
	if (root_only)
		return nft_run(nft_root_only, false, ret_cause);
	if (nft_run(nft_list, true, NULL) < 0)
		return 0;
	return nft_run(nft_delete, false, ret_cause);
}

/* ---- the backend ---- */

static bool active(void)
{
	_cleanup_free_ char *out = NULL;
	int status = 0;

	if (access(UFW, X_OK) < 0)
		return false;
	if (process_run(ufw_status, ufw_env, UFW_TIMEOUT_MS, &status, &out) < 0 || status != 0)
		return false;
	return has_line(out, "Status: active");
}

/* Delete the rules doagent made before, set the default policies, add the rules the admin
 * does not already have, enable ufw, then the metadata table. */
static int apply(const struct fw_policy *p, char **ret_cause)
{
	_cleanup_free_ struct ufw_rule *rules = NULL;
	_cleanup_strv_ char **admin = NULL;
	size_t n = 0, i;
	int r;

	r = policy_rules(p, &rules, &n, ret_cause);
	if (r < 0)
		return r;
	if (access(UFW, X_OK) < 0) {
		r = -errno;
		return strutil_cause(ret_cause, r, "ufw is not installed (%s: %s)", UFW, strerror(-r));
	}
	r = delete_ours(ret_cause);
	if (r >= 0)
		r = read_tuples(UFW_USER_RULES, &admin, ret_cause);
	if (r >= 0)
		r = read_tuples(UFW_USER6_RULES, &admin, ret_cause);
	if (r >= 0)
		r = run_ufw(ufw_deny_incoming, NULL, ret_cause);
	if (r >= 0)
		r = run_ufw(ufw_allow_outgoing, NULL, ret_cause);
	for (i = 0; r >= 0 && i < n; i++) {
		struct ufw_rule_argv a;

		if (admin_has(admin, &rules[i]))
			continue;
		rule_argv(&rules[i], &a);
		r = run_ufw(a.argv, NULL, ret_cause);
	}
	if (r >= 0)
		r = run_ufw(ufw_enable, NULL, ret_cause);
	if (r >= 0)
		r = metadata_table(p->metadata_root_only, ret_cause);
	return r;
}

static int remove_rules(char **ret_cause)
{
	int r = 0;

	/* Without ufw there is no rule of ours in it. */
	if (access(UFW, X_OK) == 0)
		r = delete_ours(ret_cause);
	if (r >= 0)
		r = metadata_table(false, ret_cause);
	return r;
}

/* What apply runs, one command a line. A rule the admin already has for the same port
 * and source is left out when it runs. */
static int describe(const struct fw_policy *p, char ***ret_lines)
{
	const char *const *fixed[] = { ufw_deny_incoming, ufw_allow_outgoing };
	_cleanup_free_ struct ufw_rule *rules = NULL;
	_cleanup_strv_ char **lines = NULL;
	size_t n = 0, i;
	int r;

	r = policy_rules(p, &rules, &n, NULL);
	if (r < 0)
		return r;
	r = strv_extend(&lines, "ufw --force delete RULE, for each RULE \"ufw show added\" lists with comment '"
			UFW_COMMENT "'");
	for (i = 0; r >= 0 && i < ELEMENTSOF(fixed) + n + 1; i++) {
		_cleanup_free_ char *text = NULL;
		struct ufw_rule_argv a;

		if (i < ELEMENTSOF(fixed))
			text = command_text(fixed[i]);
		else if (i < ELEMENTSOF(fixed) + n) {
			rule_argv(&rules[i - ELEMENTSOF(fixed)], &a);
			text = command_text(a.argv);
		} else
			text = command_text(ufw_enable);
		r = text ? strv_extend(&lines, text) : -ENOMEM;
	}
	if (r >= 0)
		r = p->metadata_root_only ? strv_extendf(&lines, "nft '%s'", nft_root_only)
					  : strv_extendf(&lines, "nft '%s' (when it exists)", nft_delete);
	if (r < 0)
		return r;
	*ret_lines = TAKE_PTR(lines);
	return 0;
}

const struct fw_backend fw_ufw = { "ufw", active, apply, remove_rules, describe };
