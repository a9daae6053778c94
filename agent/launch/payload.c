/* The user data doagent-launch sends: see payload.h for the rules. */
#include "autoconfig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "doagent.h"
#include "fileio.h"
#include "launch.h"
#include "payload.h"
#include "record.h"
#include "secret.h"
#include "tls.h"

int payload_read(const char *path, char **ret, size_t *ret_len)
{
	int r = fileio_read_file(path, DOAGENT_USERDATA_MAX, ret, ret_len);

	if (r == -E2BIG) {
		launch_err("%s: user data larger than %d bytes (DigitalOcean's limit)", path, DOAGENT_USERDATA_MAX);
		return DOAGENT_EXIT_DATAERR;
	}
	if (r < 0) {
		launch_err("%s: %s", path, strerror(-r));
		return DOAGENT_EXIT_DATAERR;
	}
	if (strlen(*ret) != *ret_len) {
		launch_err("%s: user data holds NUL bytes", path);
		return DOAGENT_EXIT_DATAERR;
	}
	return 0;
}

int payload_check(const char *what, const char *data, size_t len, struct config *c,
		  enum userdata_kind *ret_kind, bool quiet)
{
	struct userdata_report rep = { 0 };
	int r = config_init(c);

	if (r < 0) {
		launch_err("out of memory");
		return DOAGENT_EXIT_FAILURE;
	}
	r = userdata_parse(data, len, c, &rep);
	for (size_t i = 0; i < rep.n_diags; i++) {
		_cleanup_free_ char *m = NULL;

		if (quiet && rep.diags[i].severity != USERDATA_ERROR)
			continue;
		m = userdata_diag_format(&rep, &rep.diags[i]);
		fprintf(stderr, "%s: %s\n", what, m ? m : "(out of memory)");
	}
	if (ret_kind)
		*ret_kind = rep.kind;
	userdata_report_done(&rep);
	if (r >= 0) {
		/* The user data's own certificate and key must be a pair, as doagent --check says. */
		_cleanup_free_ char *cause = NULL;

		if (tls_check_config(c, &cause) < 0) {
			fprintf(stderr, "%s: %s\n", what, cause ? cause : "bad TLS certificate or key");
			r = -EBADMSG;
		}
	}
	if (r == -EBADMSG || r == -E2BIG) {
		launch_err("%s: invalid user data, nothing was sent", what);
		return DOAGENT_EXIT_DATAERR;
	}
	if (r < 0) {
		launch_err("%s: %s", what, strerror(-r));
		return DOAGENT_EXIT_FAILURE;
	}
	return 0;
}

bool payload_is_mime(const char *d)
{
	while (*d == ' ' || *d == '\t' || *d == '\r' || *d == '\n')
		d++;
	return strncasecmp(d, "Content-Type:", 13) == 0 || strncasecmp(d, "MIME-Version:", 13) == 0;
}

/* Is line [s, e) the header of section? */
static bool is_header(const char *s, const char *e, const char *section)
{
	size_t n = strlen(section);

	while (s < e && (*s == ' ' || *s == '\t'))
		s++;
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		e--;
	return (size_t)(e - s) == n + 2 && s[0] == '[' && e[-1] == ']' && strncasecmp(s + 1, section, n) == 0;
}

/* A copy of data with "key = value" in its section (added at the end when it has none). */
static char *add_key(const char *data, const char *section, const char *key, const char *value)
{
	char *out = NULL;
	size_t outlen = 0;
	FILE *f = open_memstream(&out, &outlen);
	bool done = false;
	const char *p = data;

	if (!f)
		return NULL;
	while (*p) {
		const char *nl = strchr(p, '\n');
		const char *e = nl ? nl : p + strlen(p);

		fwrite(p, 1, e - p, f);
		if (!done && is_header(p, e, section)) {
			fprintf(f, "\n%s = %s", key, value);
			done = true;
		}
		if (nl)
			fputc('\n', f);
		p = nl ? nl + 1 : e;
	}
	if (!done) {
		if (outlen > 0 || ftell(f) > 0) {
			fflush(f);
			if (outlen > 0 && out[outlen - 1] != '\n')
				fputc('\n', f);
			fputc('\n', f);
		}
		fprintf(f, "[%s]\n%s = %s\n", section, key, value);
	}
	if (fclose(f) != 0) {
		free(out);
		return NULL;
	}
	return out;
}

/* What clients need, from p->config: the password, TLS and the port. */
static int settle(struct payload *p, const char *what)
{
	erase_and_freep(&p->password);
	if (!p->config.redis_password) {
		launch_err("%s: the user data sets no password", what);
		return DOAGENT_EXIT_DATAERR;
	}
	p->password = strdup(p->config.redis_password);
	if (!p->password) {
		launch_err("out of memory");
		return DOAGENT_EXIT_FAILURE;
	}
	p->tls = p->config.tls_enabled;
	p->port = p->tls ? p->config.tls_port : p->config.redis_port;
	return 0;
}

int payload_replace(struct payload *p, const char *what, char *data)
{
	int ex;

	if (!data) {
		launch_err("out of memory");
		return DOAGENT_EXIT_FAILURE;
	}
	if (p->data)
		explicit_bzero(p->data, p->len);
	free(p->data);
	p->data = data;
	p->len = strlen(data);
	config_done(&p->config);
	ex = payload_check(what, p->data, p->len, &p->config, NULL, true);
	return ex ? ex : settle(p, what);
}

void payload_done(struct payload *p)
{
	if (p->data)
		explicit_bzero(p->data, p->len);
	free(p->data);
	erase_and_freep(&p->password);
	config_done(&p->config);
	*p = (struct payload){ 0 };
}

int payload_load(const char *path, struct payload *p)
{
	_cleanup_erase_ char *pw = NULL;
	enum userdata_kind kind;
	int ex;

	*p = (struct payload){ 0 };
	ex = payload_read(path, &p->data, &p->len);
	if (ex)
		return ex;
	record_digest(p->data, p->len, p->source);
	ex = payload_check(path, p->data, p->len, &p->config, &kind, false);
	if (ex)
		return ex;
	if (kind == USERDATA_FOREIGN) {
		launch_err("%s: not doagent's user data; doagent-launch only launches with doagent's INI user data",
			   path);
		return DOAGENT_EXIT_DATAERR;
	}
	if (p->config.redis_password)
		return settle(p, path);
	if (payload_is_mime(p->data)) {
		launch_err("%s: MIME user data without a password: put \"password = ...\" in its [redis] section",
			   path);
		return DOAGENT_EXIT_DATAERR;
	}
	if (secret_generate_password(&pw) < 0) {
		launch_err("cannot generate a password");
		return DOAGENT_EXIT_FAILURE;
	}
	return payload_replace(p, path, add_key(p->data, "redis", "password", pw));
}

const char *payload_volume(const struct config *c)
{
	const struct config_key *k = config_find("storage", "volume");

	return k ? *(char *const *)((const char *)c + k->offset) : NULL;
}

int payload_set_volume(struct payload *p, const char *what, const char *volume)
{
	const char *have = payload_volume(&p->config);

	if (have && strcmp(have, volume) == 0)
		return 0;
	if (have) {
		launch_err("%s: the user data's [storage] volume is %s, not %s; nothing was sent", what, have, volume);
		return DOAGENT_EXIT_DATAERR;
	}
	if (!config_find("storage", "volume")) {
		launch_err("this doagent-launch's user-data parser has no [storage] volume: it cannot launch with a volume");
		return DOAGENT_EXIT_FAILURE;
	}
	if (payload_is_mime(p->data)) {
		launch_err("%s: MIME user data: put \"[storage] volume = %s\" in its doagent part; nothing was sent",
			   what, volume);
		return DOAGENT_EXIT_DATAERR;
	}
	return payload_replace(p, what, add_key(p->data, "storage", "volume", volume));
}

/* value (a PEM block, ending in a line break or not) as the value of a key: its first
 * line on the key's line, the others indented, no line break at the end. */
static int pem_value(FILE *f, const char *pem)
{
	const char *p = pem;

	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);

		if (n > 0) {
			if (p != pem)
				fputs("\n    ", f);
			fwrite(p, 1, n, f);
		}
		p += n + (nl ? 1 : 0);
	}
	return ferror(f) ? -EIO : 0;
}

/* Refuse user data that a group cannot be made of; what is wrong is named by its key
 * (the lines of the user data sent may differ from the file's: a generated password
 * comes in under [redis]). */
static int group_refused(const struct payload *p, const char *what)
{
	const struct config *c = &p->config;
	const char *why = NULL;

	if (payload_is_mime(p->data))
		why = "MIME user data: create --standby adds the group's sections to INI user data only";
	else if (c->replication_group || c->replication_primary || c->line[CONFIG_REPLICATION_QUORUM])
		why = "[replication]: create --standby writes this section on every node; leave it out";
	else if (!c->tls_enabled)
		why = "[tls] enabled = no: a replication group needs TLS (clients, replicas and Sentinels reach each other over TLS only)";
	else if (c->redis_bind == CONFIG_SCOPE_LOOPBACK)
		why = "[redis] bind = loopback: a replication group needs the private network";
	else if (c->line[CONFIG_TLS_CERTIFICATE] && !c->tls_certificate)
		why = "[tls] certificate = self-signed: every node of a group presents and trusts one certificate; leave the key out (create --standby makes the group's) or give a PEM pair";
	else if (c->storage_volume)
		why = "[storage] volume: a volume is attached to one droplet, not to every node of a group";
	if (!why)
		return 0;
	launch_err("%s: %s; nothing was sent", what, why);
	return DOAGENT_EXIT_DATAERR;
}

int payload_make_group(struct payload *p, const char *what, const char *group, unsigned quorum,
		       const char *cert_pem, const char *key_pem)
{
	char *out = NULL;
	size_t outlen = 0;
	FILE *f;
	int ex = group_refused(p, what);

	if (ex)
		return ex;
	if (!cert_pem != !key_pem || (!cert_pem && !p->config.tls_certificate)) {
		launch_err("%s: no certificate for the group", what);
		return DOAGENT_EXIT_FAILURE;
	}
	f = open_memstream(&out, &outlen);
	if (!f) {
		launch_err("out of memory");
		return DOAGENT_EXIT_FAILURE;
	}
	/* At the end, in sections of their own (a section may appear again), so that the
	 * user's lines keep their numbers. */
	fputs(p->data, f);
	if (p->len > 0 && p->data[p->len - 1] != '\n')
		fputc('\n', f);
	if (cert_pem) {
		fputs("\n[tls]\ncertificate = ", f);
		pem_value(f, cert_pem);
		fputs("\nkey = ", f);
		pem_value(f, key_pem);
		fputc('\n', f);
	}
	fprintf(f, "\n[replication]\ngroup = %s\nprimary = self\nquorum = %u\n", group, quorum);
	if (fclose(f) != 0) {
		if (out)
			explicit_bzero(out, outlen);
		free(out);
		launch_err("out of memory");
		return DOAGENT_EXIT_FAILURE;
	}
	return payload_replace(p, what, out);
}

/* A copy of data with "key = value" for the one-line key in the LAST section named
 * section (NULL on ENOMEM, or *ret_found false when it has no such key). */
static char *replace_key(const char *data, const char *section, const char *key,
			 const char *value, bool *ret_found)
{
	const char *p = data, *target = NULL;
	char *out = NULL;
	size_t outlen = 0, klen = strlen(key);
	bool in = false;
	FILE *f;

	/* Find the line first: the last one in a section of that name. */
	while (*p) {
		const char *nl = strchr(p, '\n'), *e = nl ? nl : p + strlen(p), *k = p;

		while (k < e && (*k == ' ' || *k == '\t'))
			k++;
		if (k < e && *k == '[') {
			in = is_header(p, e, section);
		} else if (in && k == p && (size_t)(e - k) > klen && strncmp(k, key, klen) == 0) {
			/* not indented (a continuation line), and the key whole */
			const char *q = k + klen + strspn(k + klen, " \t");

			if (q < e && (*q == '=' || *q == ':'))
				target = p;
		}
		p = nl ? nl + 1 : e;
	}
	*ret_found = target != NULL;
	if (!target)
		return NULL;
	f = open_memstream(&out, &outlen);
	if (!f)
		return NULL;
	fwrite(data, 1, target - data, f);
	fprintf(f, "%s = %s", key, value);
	p = strchr(target, '\n');
	if (p)
		fputs(p, f);
	if (fclose(f) != 0) {
		if (out)
			explicit_bzero(out, outlen);
		free(out);
		return NULL;
	}
	return out;
}

int payload_standby(const struct payload *p, const char *primary_ip, bool check, char **ret)
{
	static const char what[] = "the standbys' user data";
	struct config c;
	bool found = false;
	char *data;
	int ex;

	data = replace_key(p->data, "replication", "primary", primary_ip, &found);
	if (!data) {
		if (found)
			launch_err("out of memory");
		else
			launch_err("%s: the user data has no [replication] primary", what);
		return found ? DOAGENT_EXIT_FAILURE : DOAGENT_EXIT_DATAERR;
	}
	if (!check) {
		*ret = data;
		return 0;
	}
	ex = payload_check(what, data, strlen(data), &c, NULL, true);
	if (ex == 0 && (!c.replication_primary || strcmp(c.replication_primary, primary_ip) != 0)) {
		launch_err("%s: [replication] primary is not %s", what, primary_ip);
		ex = DOAGENT_EXIT_DATAERR;
	}
	config_done(&c);
	if (ex) {
		explicit_bzero(data, strlen(data));
		free(data);
		return ex;
	}
	*ret = data;
	return 0;
}

char *payload_redact(const char *data)
{
	char *out = NULL;
	size_t outlen = 0;
	FILE *f = open_memstream(&out, &outlen);
	const char *p = data;
	bool in_secret = false;

	if (!f)
		return NULL;
	while (*p) {
		const char *nl = strchr(p, '\n');
		const char *e = nl ? nl : p + strlen(p);
		const char *k = p, *eq, *ke;

		while (k < e && (*k == ' ' || *k == '\t'))
			k++;
		if (in_secret && k > p && k < e) {
			/* a continuation line of the secret's value */
			p = nl ? nl + 1 : e;
			continue;
		}
		eq = memchr(k, '=', e - k);
		ke = eq;
		while (ke && ke > k && (ke[-1] == ' ' || ke[-1] == '\t'))
			ke--;
		in_secret = eq && ((ke - k == 8 && strncasecmp(k, "password", 8) == 0) ||
				   (ke - k == 3 && strncasecmp(k, "key", 3) == 0));
		if (in_secret)
			fprintf(f, "%.*s= (redacted)", (int)(eq - p), p);
		else
			fwrite(p, 1, e - p, f);
		if (nl)
			fputc('\n', f);
		p = nl ? nl + 1 : e;
	}
	if (fclose(f) != 0) {
		free(out);
		return NULL;
	}
	return out;
}
