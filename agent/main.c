/* doagent: configure this droplet's Redis from its user data, once per droplet. */
#include "autoconfig.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ini.h>
#include <unistd.h>

#include "boot.h"
#include "config.h"
#include "doagent.h"
#include "eviction.h"
#include "paths.h"
#include "fileio.h"
#include "fw.h"
#include "guard.h"
#include "log.h"
#include "metadata.h"
#include "plan.h"
#include "secret.h"
#include "strutil.h"
#include "strv.h"
#include "tls.h"
#include "userdata.h"

#define DEFAULT_DEADLINE_MS (120 * 1000)

#ifndef PKGDATADIR
#define PKGDATADIR "/usr/local/share/doagent"
#endif

struct options {
	bool dry_run;
	bool check;
	bool status;
	bool force;
	bool json;
	const char *root;
	uint64_t deadline_ms;
	const char *user_data;
	const char *metadata;
	const char *output_dir;
	const char *templates;
	const char *memory;
	const char *attach_volume;
	bool guard;
	const char *filesystem;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: doagent [--force] [--root DIR]      the first-boot run (doagent.service)\n"
		"       doagent --dry-run [--output-dir DIR] [--json]\n"
		"       doagent --check [--json]\n"
		"       doagent --status [--json] [--root DIR]\n"
		"       doagent --attach-volume NAME [--filesystem ext4|xfs]   (doagent-volume.service)\n"
		"       doagent --guard [--root DIR]   (before redis-server starts, in a replication group)\n"
		"  common: [--user-data FILE|-] [--metadata FILE|URL] [--templates DIR] [--deadline SEC]\n"
		"\n"
		"  --dry-run          render and print the plan and every file; change nothing\n"
		"  --check            validate the user data, and say what its eviction policy does\n"
		"  --status           the last run's result; for root, the connection details and\n"
		"                     Redis' live health (ok, warning or failing, and why)\n"
		"  --json             machine-readable output for --dry-run, --check and --status\n"
		"  --force            configure even though this droplet already is\n"
		"  --root DIR         apply under DIR instead of /: files, state and secrets only\n"
		"  --user-data FILE   user data from FILE (- for standard input) instead of the metadata\n"
		"  --metadata SRC     the metadata document from a file, or the service's base URL\n"
		"                     (default " PATH_METADATA_URL ")\n"
		"  --deadline SEC     give up on the metadata service after SEC seconds (default 120)\n"
		"  --output-dir DIR   with --dry-run: write the rendered files under DIR/<absolute path>\n"
		"  --templates DIR    templates from DIR first (default " PATH_ETC_TEMPLATES
		"), then the shipped ones\n"
		"  --memory SIZE      with --dry-run: the droplet's RAM for maxmemory percentages\n"
		"                     (default: this machine's MemTotal)\n"
		"  --guard            may redis-server start? Not a primary that lost its data while\n"
		"                     Sentinel still names it: exit 1; a replica of Sentinel's primary then\n"
		"  --attach-volume NAME  mount the volume NAME (formatted only if blank) and start\n"
		"                     Redis on it; --filesystem for a blank one (default ext4)\n"
		"  --version, --help\n"
		"\n"
		"Exit status: 0 success, 2 usage, 65 invalid user data or metadata,\n"
		"69 metadata service unreachable, 1 other failure.\n");
}

static int parse_options(int argc, char **argv, struct options *o)
{
	enum { OPT_DRY_RUN = 256, OPT_CHECK, OPT_JSON, OPT_USER_DATA, OPT_METADATA, OPT_OUTPUT_DIR,
	       OPT_TEMPLATES, OPT_MEMORY, OPT_VERSION, OPT_HELP, OPT_STATUS, OPT_FORCE, OPT_ROOT,
	       OPT_DEADLINE, OPT_ATTACH_VOLUME, OPT_FILESYSTEM, OPT_GUARD };
	static const struct option longopts[] = {
		{ "dry-run", no_argument, NULL, OPT_DRY_RUN },
		{ "check", no_argument, NULL, OPT_CHECK },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "user-data", required_argument, NULL, OPT_USER_DATA },
		{ "metadata", required_argument, NULL, OPT_METADATA },
		{ "output-dir", required_argument, NULL, OPT_OUTPUT_DIR },
		{ "templates", required_argument, NULL, OPT_TEMPLATES },
		{ "memory", required_argument, NULL, OPT_MEMORY },
		{ "status", no_argument, NULL, OPT_STATUS },
		{ "force", no_argument, NULL, OPT_FORCE },
		{ "root", required_argument, NULL, OPT_ROOT },
		{ "deadline", required_argument, NULL, OPT_DEADLINE },
		{ "attach-volume", required_argument, NULL, OPT_ATTACH_VOLUME },
		{ "guard", no_argument, NULL, OPT_GUARD },
		{ "filesystem", required_argument, NULL, OPT_FILESYSTEM },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_DRY_RUN: o->dry_run = true; break;
		case OPT_CHECK: o->check = true; break;
		case OPT_JSON: o->json = true; break;
		case OPT_USER_DATA: o->user_data = optarg; break;
		case OPT_METADATA: o->metadata = optarg; break;
		case OPT_OUTPUT_DIR: o->output_dir = optarg; break;
		case OPT_TEMPLATES: o->templates = optarg; break;
		case OPT_MEMORY: o->memory = optarg; break;
		case OPT_STATUS: o->status = true; break;
		case OPT_FORCE: o->force = true; break;
		case OPT_ROOT: o->root = optarg; break;
		case OPT_ATTACH_VOLUME: o->attach_volume = optarg; break;
		case OPT_GUARD: o->guard = true; break;
		case OPT_FILESYSTEM: o->filesystem = optarg; break;
		case OPT_DEADLINE: {
			unsigned long long sec;

			if (strutil_parse_u64(optarg, 1, 86400, &sec) < 0) {
				log_error("--deadline %s: not a number of seconds from 1 to 86400", optarg);
				return -EINVAL;
			}
			o->deadline_ms = sec * 1000;
			break;
		}
		case OPT_VERSION:
			printf("doagent %s\n", PACKAGE_VERSION);
			exit(DOAGENT_EXIT_OK);
		case OPT_HELP:
			usage(stdout);
			exit(DOAGENT_EXIT_OK);
		default:
			usage(stderr);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		log_error("unexpected argument '%s'", argv[optind]);
		return -EINVAL;
	}
	if (o->dry_run + o->check + o->status > 1) {
		log_error("--dry-run, --check and --status exclude each other");
		return -EINVAL;
	}
	if (o->guard && (o->dry_run || o->check || o->status || o->force || o->json || o->attach_volume ||
			 o->user_data || o->metadata || o->output_dir || o->templates || o->memory || o->deadline_ms)) {
		log_error("--guard takes --root only");
		return -EINVAL;
	}
	if (o->filesystem && !o->attach_volume) {
		log_error("--filesystem goes with --attach-volume");
		return -EINVAL;
	}
	if (o->attach_volume && (o->dry_run || o->check || o->status || o->force || o->root || o->json ||
				 o->user_data || o->metadata || o->templates || o->deadline_ms)) {
		log_error("--attach-volume takes --filesystem only");
		return -EINVAL;
	}
	if (o->force && (o->dry_run || o->check || o->status)) {
		log_error("--force goes with the first-boot run only");
		return -EINVAL;
	}
	if (o->root && (o->dry_run || o->check)) {
		log_error("--root goes with the first-boot run and --status");
		return -EINVAL;
	}
	if (o->root && o->root[0] != '/') {
		log_error("--root %s: give an absolute path", o->root);
		return -EINVAL;
	}
	if (o->output_dir && !o->dry_run) {
		log_error("--output-dir goes with --dry-run");
		return -EINVAL;
	}
	if (o->memory && !o->dry_run) {
		log_error("--memory goes with --dry-run");
		return -EINVAL;
	}
	if (o->json && !o->dry_run && !o->check && !o->status) {
		log_error("--json goes with --dry-run, --check or --status");
		return -EINVAL;
	}
	if (o->check && !o->user_data && !o->metadata) {
		log_error("--check needs --user-data FILE or --metadata FILE");
		return -EINVAL;
	}
	return 0;
}

static int load_metadata(const struct options *o, struct metadata **ret)
{
	_cleanup_free_ char *cause = NULL;
	int r;

	const char *src = o->metadata ? o->metadata : PATH_METADATA_URL;
	bool url = strncasecmp(src, "http://", 7) == 0 || strncasecmp(src, "https://", 8) == 0;

	if (url)
		r = metadata_fetch(src, o->deadline_ms, ret, &cause);
	else
		r = metadata_load_file(src, ret, &cause);
	if (r == -ETIMEDOUT) {
		log_error("%s", cause ? cause : "the metadata service did not answer in time");
		return DOAGENT_EXIT_UNAVAILABLE;
	}
	if (url && r == -EINVAL) {
		/* A URL curl cannot use: a mistake in --metadata or doagent.conf. */
		log_error("%s", cause ? cause : strerror(-r));
		return DOAGENT_EXIT_USAGE;
	}
	if (r == -EBADMSG || r == -E2BIG) {
		log_error("metadata %s: %s", src, cause ? cause : strerror(-r));
		return DOAGENT_EXIT_DATAERR;
	}
	if (r < 0) {
		log_error("%s", cause ? cause : strerror(-r));
		return DOAGENT_EXIT_FAILURE;
	}
	return 0;
}

/* Read the user data from --user-data or from the metadata document. */
static int load_user_data(const struct options *o, const struct metadata *md, char **ret,
			  size_t *ret_len)
{
	int r;

	if (!o->user_data) {
		*ret = malloc(md->user_data_len + 1);
		if (!*ret)
			return -ENOMEM;
		if (md->user_data)
			memcpy(*ret, md->user_data, md->user_data_len);
		(*ret)[md->user_data_len] = '\0';
		*ret_len = md->user_data_len;
		return 0;
	}
	/* One byte more than the limit, so that userdata_parse sees and names the excess. */
	r = fileio_read_file(o->user_data, DOAGENT_USERDATA_MAX + 1, ret, ret_len);
	if (r == -E2BIG) {
		log_error("user data %s: larger than %d bytes (64 KiB), DigitalOcean's limit",
			  o->user_data, DOAGENT_USERDATA_MAX);
		return DOAGENT_EXIT_DATAERR;
	}
	if (r < 0) {
		log_error("user data %s: %s", o->user_data, strerror(-r));
		return DOAGENT_EXIT_FAILURE;
	}
	return 0;
}

static json_object *report_to_json(const struct userdata_report *rep, bool valid)
{
	static const char *const kinds[] = { "absent", "doagent", "foreign" };
	json_object *o = json_object_new_object(), *diags = json_object_new_array();
	size_t i;

	if (!o || !diags) {
		json_object_put(o);
		json_object_put(diags);
		return NULL;
	}
	json_object_object_add(o, "valid", json_object_new_boolean(valid));
	json_object_object_add(o, "kind", json_object_new_string(kinds[rep->kind]));
	if (rep->format)
		json_object_object_add(o, "format", json_object_new_string(rep->format));
	for (i = 0; i < rep->n_diags; i++) {
		const struct userdata_diag *d = &rep->diags[i];
		_cleanup_free_ char *text = userdata_diag_format(rep, d);
		json_object *j = json_object_new_object();

		json_object_array_add(diags, j);
		json_object_object_add(j, "severity", json_object_new_string(
							 d->severity == USERDATA_ERROR ? "error" : "notice"));
		json_object_object_add(j, "line", json_object_new_int((int)d->line));
		if (d->section)
			json_object_object_add(j, "section", json_object_new_string(d->section));
		if (d->key)
			json_object_object_add(j, "key", json_object_new_string(d->key));
		json_object_object_add(j, "message", json_object_new_string(d->message));
		if (d->suggestion)
			json_object_object_add(j, "suggestion", json_object_new_string(d->suggestion));
		if (text)
			json_object_object_add(j, "text", json_object_new_string(text));
	}
	json_object_object_add(o, "diagnostics", diags);
	return o;
}

static void print_json(json_object *o)
{
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
}

/* Parse the user data into c; print its diagnostics. Returns 0, or an exit status. */
static int read_config(const struct options *o, const struct metadata *md, struct config *c,
		       struct userdata_report *rep, char **ret_tls_error)
{
	_cleanup_erase_ char *data = NULL;
	size_t len, i;
	int r;

	r = load_user_data(o, md, &data, &len);
	if (r != 0)
		return r < 0 ? DOAGENT_EXIT_FAILURE : r;
	r = config_init(c);
	if (r < 0)
		return DOAGENT_EXIT_FAILURE;
	r = userdata_parse(data, len, c, rep);
	if (r == -ENOMEM) {
		log_error("out of memory");
		return DOAGENT_EXIT_FAILURE;
	}
	if (!o->json || !o->check)
		for (i = 0; i < rep->n_diags; i++) {
			_cleanup_free_ char *text = userdata_diag_format(rep, &rep->diags[i]);

			if (rep->diags[i].severity == USERDATA_ERROR)
				log_error("user data: %s", text ? text : rep->diags[i].message);
			else if (!o->dry_run)
				log_notice("user data: %s", text ? text : rep->diags[i].message);
		}
	if (r < 0 && !(o->json && o->check))
		log_error("user data: %zu error%s; nothing was rendered", rep->n_errors,
			  rep->n_errors == 1 ? "" : "s");
	if (r >= 0) {
		_cleanup_free_ char *cause = NULL;

		/* The user data's own certificate and key must be a usable pair. */
		if (tls_check_config(c, &cause) < 0) {
			if (!(o->json && o->check))
				log_error("user data: %s; nothing was rendered", cause ? cause : "bad TLS certificate or key");
			if (ret_tls_error)
				*ret_tls_error = TAKE_PTR(cause);
			return DOAGENT_EXIT_DATAERR;
		}
	}
	return r < 0 ? DOAGENT_EXIT_DATAERR : 0;
}

static int run_check(const struct options *o)
{
	_cleanup_metadata_ struct metadata *md = NULL;
	_cleanup_free_ char *tls_error = NULL;
	struct userdata_report rep = { 0 };
	struct config c = { 0 };
	int r;

	if (!o->user_data && (r = load_metadata(o, &md)) != 0)
		return r;
	r = read_config(o, md, &c, &rep, &tls_error);
	if (o->json) {
		_cleanup_json_ json_object *j = report_to_json(&rep, r == 0);
		json_object *diags;

		/* The pair check comes after the key-by-key one: add its error too. */
		if (j && tls_error && json_object_object_get_ex(j, "diagnostics", &diags)) {
			json_object *d = json_object_new_object();

			json_object_array_add(diags, d);
			json_object_object_add(d, "severity", json_object_new_string("error"));
			json_object_object_add(d, "line", json_object_new_int((int)c.line[CONFIG_TLS_CERTIFICATE]));
			json_object_object_add(d, "section", json_object_new_string("tls"));
			json_object_object_add(d, "key", json_object_new_string("certificate"));
			json_object_object_add(d, "message", json_object_new_string(tls_error));
			json_object_object_add(d, "text", json_object_new_string(tls_error));
		}
		/* What the policy does once memory is full, and whether it fits the data. */
		if (j && r == 0)
			json_object_object_add(j, "eviction", eviction_to_json(&c));
		if (j)
			print_json(j);
	} else if (r == 0) {
		printf("user data: valid%s%s\n", rep.format ? " (not doagent's: " : "",
		       rep.format ? "the defaults apply)" : "");
		eviction_print(&c, stdout);
	}
	userdata_report_done(&rep);
	config_done(&c);
	return r;
}

static int memory_size(const struct options *o, unsigned long long *ret)
{
	_cleanup_free_ char *text = NULL;
	struct config_memory m;
	struct config tmp = { 0 };
	_cleanup_free_ char *cause = NULL;
	size_t len;
	int r;

	if (o->memory) {
		r = config_set(&tmp, &config_keys[CONFIG_REDIS_MAXMEMORY], o->memory, &cause);
		m = tmp.redis_maxmemory;
		if (r < 0 || m.kind != CONFIG_MEMORY_BYTES) {
			log_error("--memory %s: not a size such as 2gb", o->memory);
			return DOAGENT_EXIT_USAGE;
		}
		*ret = m.value;
		return 0;
	}
	r = fileio_read_file("/proc/meminfo", 64 * 1024, &text, &len);
	if (r < 0 || plan_parse_meminfo(text, ret) < 0) {
		log_error("cannot read MemTotal from /proc/meminfo; give --memory SIZE");
		return DOAGENT_EXIT_FAILURE;
	}
	return 0;
}

static int run_dry_run(const struct options *o)
{
	_cleanup_metadata_ struct metadata *md = NULL;
	_cleanup_erase_ char *generated = NULL;
	_cleanup_plan_ struct plan *plan = NULL;
	_cleanup_free_ char *cause = NULL;
	_cleanup_strv_ char **notices = NULL, **ufw_commands = NULL;
	struct userdata_report rep = { 0 };
	struct config c = { 0 };
	struct plan_input in = { 0 };
	size_t i;
	int r;

	r = load_metadata(o, &md);
	if (r != 0)
		return r;
	r = read_config(o, md, &c, &rep, NULL);
	for (i = 0; r == 0 && i < rep.n_diags; i++) {
		_cleanup_free_ char *text = userdata_diag_format(&rep, &rep.diags[i]);

		if (!text || strv_extendf(&notices, "user data: %s", text) < 0)
			r = DOAGENT_EXIT_FAILURE;
	}
	userdata_report_done(&rep);
	if (r != 0)
		goto out;
	r = memory_size(o, &in.mem_total);
	if (r != 0)
		goto out;
	if (!c.redis_password && secret_generate_password(&generated) < 0) {
		log_error("cannot generate a password");
		r = DOAGENT_EXIT_FAILURE;
		goto out;
	}
	in.config = &c;
	in.metadata = md;
	in.password = c.redis_password ? c.redis_password : generated;
	in.password_generated = !c.redis_password;
	in.templates_dir = o->templates;
	in.shipped_dir = PKGDATADIR "/templates";
	in.notices = (const char *const *)notices;
	r = plan_build(&in, &plan, &cause);
	if (r < 0) {
		log_error("%s", cause ? cause : strerror(-r));
		r = r == -EBADMSG ? DOAGENT_EXIT_DATAERR : DOAGENT_EXIT_FAILURE;
		goto out;
	}
	if (o->output_dir) {
		free(cause);
		cause = NULL;
		r = plan_write_tree(plan, o->output_dir, &cause);
		if (r < 0) {
			log_error("%s", cause ? cause : strerror(-r));
			r = DOAGENT_EXIT_FAILURE;
			goto out;
		}
	}
	if (c.firewall_backend == CONFIG_FW_UFW) {
		/* The exact ufw commands the first boot would run. */
		struct fw_policy policy;

		boot_fw_policy(plan, &policy);
		if (fw_ufw.describe(&policy, &ufw_commands) < 0) {
			r = DOAGENT_EXIT_FAILURE;
			goto out;
		}
	}
	if (o->json) {
		_cleanup_json_ json_object *j = plan_to_json(plan);
		json_object *cmds = json_object_new_array();

		if (!j || !cmds) {
			json_object_put(cmds);
			r = DOAGENT_EXIT_FAILURE;
			goto out;
		}
		for (char **l = ufw_commands; l && *l; l++)
			json_object_array_add(cmds, json_object_new_string(*l));
		json_object_object_add(j, "firewall_commands", cmds);
		print_json(j);
	} else if (plan_print(plan, stdout) < 0) {
		r = DOAGENT_EXIT_FAILURE;
		goto out;
	} else if (ufw_commands) {
		printf("\n==> ufw commands <==\n");
		for (char **l = ufw_commands; *l; l++)
			printf("%s\n", *l);
	}
	r = 0;
out:
	config_done(&c);
	return r;
}

static int conf_handler(void *user, const char *section, const char *name, const char *value)
{
	struct options *o = user;
	unsigned long long sec;

	if (strcmp(section, "metadata") == 0 && strcmp(name, "deadline") == 0) {
		if (strutil_parse_u64(value, 1, 86400, &sec) < 0)
			return 0;
		if (!o->deadline_ms)
			o->deadline_ms = sec * 1000;
		return 1;
	}
	if (strcmp(section, "metadata") == 0 && strcmp(name, "url") == 0) {
		static char url[512];

		if (strlen(value) >= sizeof(url))
			return 0;
		if (!o->metadata) {
			strcpy(url, value);
			o->metadata = url;
		}
		return 1;
	}
	return 0;
}

/* /etc/doagent/doagent.conf: the machine's defaults, below the command line. */
static int read_conf(struct options *o)
{
	_cleanup_free_ char *path = NULL;
	int r;

	if (asprintf(&path, "%s" PATH_AGENT_CONF, o->root ? o->root : "") < 0)
		return -ENOMEM;
	r = ini_parse(path, conf_handler, o);
	if (r == -1)
		return 0;	/* no file: the built-in defaults */
	if (r != 0) {
		log_error("%s: line %d: not a setting doagent knows (see doagent(8))", path, r);
		return -EINVAL;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct options o = { 0 };
	struct boot_options bo = { 0 };
	int r;

	log_set_program("doagent");
	log_open();
	if (parse_options(argc, argv, &o) < 0)
		return DOAGENT_EXIT_USAGE;
	if (o.guard) {
		_cleanup_free_ char *cause = NULL;

		r = guard_run(o.root, &cause);
		if (r == 0)
			log_info("guard: %s", cause ? cause : "starting Redis");
		else
			log_error("guard: %s", cause ? cause : "cannot decide: not starting Redis");
		return r == 0 ? DOAGENT_EXIT_OK : DOAGENT_EXIT_FAILURE;
	}
	if (o.status)
		return boot_status(o.root, o.json, geteuid() == 0);
	if (o.attach_volume)
		return boot_attach_volume(o.attach_volume, o.filesystem ? o.filesystem : "ext4");
	if (read_conf(&o) < 0)
		return DOAGENT_EXIT_USAGE;
	if (!o.deadline_ms)
		o.deadline_ms = DEFAULT_DEADLINE_MS;
	if (o.check)
		return run_check(&o);
	if (o.dry_run)
		return run_dry_run(&o);
	bo = (struct boot_options){
		.root = o.root,
		.metadata = o.metadata,
		.user_data = o.user_data,
		.templates = o.templates,
		.shipped_templates = PKGDATADIR "/templates",
		.deadline_ms = o.deadline_ms,
		.force = o.force,
	};
	r = boot_run(&bo);
	return r;
}
