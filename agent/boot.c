/*
 * The first boot, as doagent.service runs it: one table of steps, each in a file of
 * its own (step-*.c), run in order; the outcome of each is recorded in the state
 * directory, the journal and, for root, the login message.
 *
 * MUST rules for this file:
 * - A failed step stops the run with its exit status; nothing after it runs. The
 *   next boot or "systemctl restart doagent" runs every step again: each is
 *   idempotent.
 * - Invalid user data fails closed: Redis and stunnel are stopped and not allowed
 *   to start (no flag in /run/doagent), SSH is untouched.
 * - No message here holds a secret: causes come from modules that never put one in.
 * - state.json, the commit record, is written (fully fsync'ed) only after everything
 *   the run wrote is durable; a step whose effect a power loss does not undo runs only
 *   after everything written before it is durable.
 *
 * Durability, deferred. On a droplet that state.json does not record as configured,
 * the run defers the fsyncs of its writes (fileio_defer_sync): each file is still
 * replaced atomically, with its mode and owner first. make_durable syncs each
 * filesystem written to, once (syncfs), before the firewall and the units steps (the
 * rules file is loaded at every boot once the firewall step has enabled its unit, and
 * the services read the files) and before state.json, the commit point, is written.
 * A crash or a power loss before the commit leaves state.json as it was: not saying
 * that this droplet is configured, so the next boot runs the first boot again and
 * rewrites every file, taking an empty or invalid file of ours (what a power loss may
 * make of an unsynced one, see fileio.c) for an absent one; Redis does not start before
 * that run's units step (the flag in /run is gone). A file an interrupted run wrote and
 * this run keeps as it is (a secret, the certificate, a rendered file already right)
 * was never synced: make_durable syncs its filesystem too. Once state.json says
 * configured (a reboot, or --force, of a configured droplet), nothing is deferred:
 * that run would not rewrite, at the next boot, what a power loss had emptied.
 */
#include "autoconfig.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backoff.h"
#include "boot.h"
#include "doagent.h"
#include "fileio.h"
#include "fw.h"
#include "health.h"
#include "log.h"
#include "paths.h"
#include "sdlib.h"
#include "storage.h"
#include "strutil.h"
#include "strv.h"
#include "systemd.h"

static const struct boot_step *const boot_steps[] = {
	&step_metadata,
	&step_state,
	&step_userdata,
	&step_secrets,
	&step_tls,
	&step_files,
	&step_firewall,
	&step_network,
	&step_storage,
	&step_units,
	&step_ready,
};

/* Steps with an effect a power loss does not undo (a rules file loaded at every boot,
 * services that read the files): what was written before them is made durable first. */
static const struct boot_step *const boot_sync_before[] = {
	&step_firewall,
	&step_storage,
	&step_units,
};

char *boot_path(const struct boot *b, const char *path)
{
	char *s;

	if (asprintf(&s, "%s%s", b->opt->root ? b->opt->root : "", path) < 0)
		return NULL;
	return s;
}

static void write_motd_failure(struct boot *b, const char *error)
{
	_cleanup_free_ char *path = boot_path(b, PATH_MOTD), *dir = boot_path(b, "/etc/motd.d");
	_cleanup_free_ char *text = NULL;

	if (!path || !dir ||
	    asprintf(&text,
		     "\n  doagent could not configure Redis on this droplet:\n    %s\n"
		     "  Redis is not exposed. Details: doagent --status; journalctl -u doagent\n\n",
		     error) < 0)
		return;
	if (fileio_mkdir_p(dir, 0755) < 0 ||
	    fileio_write_atomic(path, text, strlen(text), 0644, (uid_t)-1, (gid_t)-1) < 0)
		log_warning("cannot write the login message %s", path);
}

/* Invalid user data: make sure Redis is neither running nor able to start. */
static void fail_closed(struct boot *b)
{
	static const char *const units[] = { UNIT_SENTINEL, UNIT_STUNNEL, UNIT_REDIS };
	_cleanup_free_ char *flag = boot_path(b, PATH_CONFIGURED_FLAG);
	size_t i;

	if (flag)
		unlink(flag);
	if (b->opt->root)
		return;
	/* No rules of ours, now or at the next boot: SSH stays as reachable as it was
	 * before doagent, and nothing else of ours listens. */
	unlink(PATH_FIREWALL_NFT);
	{
		_cleanup_free_ char *cause = NULL;
		const struct fw_backend *fw = fw_backend_for(CONFIG_FW_AUTO);

		if (fw->remove(&cause) < 0)
			log_warning("cannot remove doagent's firewall rules: %s", cause ? cause : "unknown error");
	}
	if (!b->bus && systemd_open(&b->bus, NULL) < 0)
		return;
	for (i = 0; i < ELEMENTSOF(units); i++) {
		_cleanup_free_ char *cause = NULL;

		if (systemd_unit_action(b->bus, SYSTEMD_STOP, units[i], 30000, &cause) < 0)
			log_warning("cannot stop %s: %s", units[i], cause ? cause : "unknown error");
	}
}

static int record(struct boot *b, int status, const char *error)
{
	_cleanup_free_ char *cause = NULL;
	int r;

	b->now.finished = (int64_t)time(NULL);
	b->now.exit_status = status;
	free(b->now.result);
	b->now.result = strdup(status == 0 ? "success" : "failed");
	free(b->now.error);
	b->now.error = error ? strdup(error) : NULL;
	if (status == 0) {
		free(b->now.configured);
		b->now.configured = strdup(b->md->droplet_id);
	} else if (b->prev.configured && !b->now.configured)
		b->now.configured = strdup(b->prev.configured);
	if (!b->state_dir)
		return status;
	r = state_save(b->state_dir, &b->now, &cause);
	if (r < 0) {
		log_error("cannot record the result: %s", cause ? cause : strerror(-r));
		return status ? status : DOAGENT_EXIT_FAILURE;
	}
	return status;
}

/* Note the filesystem of root-relative path for make_durable. */
static int note(const struct boot *b, const char *path)
{
	_cleanup_free_ char *p = boot_path(b, path);

	return p ? fileio_defer_note(p) : -ENOMEM;
}

/* Everything written so far durable: once on each filesystem written to and, with
 * note_kept, on those of the files an interrupted earlier run may have left unsynced
 * that this run keeps as they are (secrets, the certificate, rendered files).
 * Returns 0 or -errno with *ret_cause. */
static int make_durable(struct boot *b, bool note_kept, char **ret_cause)
{
	_cleanup_free_ char *secrets = NULL;
	int r = 0;
	size_t i;

	if (note_kept) {
		if (b->state_dir) {
			r = asprintf(&secrets, "%s/secrets", b->state_dir) < 0 ? -ENOMEM : 0;
			if (r >= 0)
				r = fileio_defer_note(b->state_dir);
			if (r >= 0)
				r = fileio_defer_note(secrets);
		}
		if (r >= 0)
			r = note(b, PATH_TLS_CERT);
		for (i = 0; b->plan && i < b->plan->n_files && r >= 0; i++)
			r = note(b, b->plan->files[i].path);
	}
	if (r >= 0)
		r = fileio_sync_deferred();
	if (r < 0)
		return strutil_cause(ret_cause, r, "cannot make the files written durable: %s", strerror(-r));
	return 0;
}

static bool sync_before(const struct boot_step *s)
{
	size_t i;

	for (i = 0; i < ELEMENTSOF(boot_sync_before); i++)
		if (boot_sync_before[i] == s)
			return true;
	return false;
}

/* Tests only: DOAGENT_TEST_KILL_AFTER=STEP ends this process with SIGKILL right after
 * STEP, as a power cut would (tests/crash-consistency.sh). Honoured under --root
 * only, so it can never cut short the first boot of a real droplet. */
static void test_kill_after(const struct boot *b, const char *step)
{
	const char *e = b->opt->root ? getenv("DOAGENT_TEST_KILL_AFTER") : NULL;

	if (e && strcmp(e, step) == 0)
		raise(SIGKILL);
}

static void boot_done(struct boot *b)
{
	free(b->state_dir);
	state_done(&b->prev);
	state_done(&b->now);
	metadata_free(b->md);
	config_done(&b->config);
	userdata_report_done(&b->report);
	erase_and_freep(&b->password);
	free(b->tls_cert);
	free(b->tls_fingerprint);
	plan_free(b->plan);
	sdlib_bus_flush_close_unref(b->bus);
}

int boot_run(const struct boot_options *opt)
{
	struct boot b = { .opt = opt };
	_cleanup_free_ char *error = NULL, *sync_cause = NULL;
	bool deferring = false, noted = false;
	int status = 0;
	size_t i;

	b.now.started = (int64_t)time(NULL);
	b.started_ms = backoff_now_ms();
	b.now.result = strdup("running");
	for (i = 0; i < ELEMENTSOF(boot_steps) && status == 0; i++) {
		const struct boot_step *s = boot_steps[i];
		_cleanup_free_ char *cause = NULL;
		uint64_t t0 = backoff_now_ms(), ms;

		/* Until the state step has read state.json, nothing is written. */
		deferring = !b.prev.configured || !b.md || strcmp(b.prev.configured, b.md->droplet_id) != 0;
		fileio_defer_sync(deferring);
		if (s->system_only && opt->root) {
			state_add_step(&b.now, s->name, "skipped", "--root: not on a live system", 0);
			test_kill_after(&b, s->name);
			continue;
		}
		if (sync_before(s)) {
			status = make_durable(&b, deferring && !noted, &cause) < 0 ? DOAGENT_EXIT_FAILURE : 0;
			noted |= deferring;
		}
		if (status == 0)
			status = s->run(&b, &cause);
		ms = backoff_now_ms() - t0;
		log_step(status ? LOG_ERR : LOG_INFO, s->name, b.md ? b.md->droplet_id : NULL, ms, "%s: %s",
			 s->name, status ? (cause ? cause : "failed") : (cause ? cause : "done"));
		state_add_step(&b.now, s->name, status ? "failed" : "ok", cause, ms);
		if (status) {
			if (asprintf(&error, "%s: %s", s->name, cause ? cause : "failed") < 0)
				error = NULL;
			if (status == DOAGENT_EXIT_DATAERR && s == &step_userdata)
				fail_closed(&b);
		}
		test_kill_after(&b, s->name);
	}
	/* The commit point follows: everything before it durable, then state.json. */
	if (make_durable(&b, deferring && !noted, &sync_cause) < 0) {
		log_error("%s", sync_cause ? sync_cause : "cannot make the files written durable");
		if (!status) {
			status = DOAGENT_EXIT_FAILURE;
			error = TAKE_PTR(sync_cause);
		}
	}
	fileio_defer_sync(false);
	if (status)
		write_motd_failure(&b, error ? error : "unknown error");
	else
		log_step(LOG_NOTICE, "done", b.md->droplet_id, 0, "droplet %s is configured%s", b.md->droplet_id,
			 b.configured ? " (it already was)" : "");
	status = record(&b, status, error);
	boot_done(&b);
	return status;
}

static void print_text(const struct state *s)
{
	char when[64] = "";
	struct tm tm;
	time_t t = (time_t)s->finished;
	size_t i;

	if (s->finished && gmtime_r(&t, &tm))
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
	printf("droplet:    %s\n", s->droplet_id ? s->droplet_id : "(none)");
	printf("result:     %s%s%s\n", s->result ? s->result : "never run", when[0] ? ", " : "", when);
	if (s->configured)
		printf("configured: droplet %s\n", s->configured);
	if (s->error)
		printf("error:      %s\n", s->error);
	for (i = 0; i < s->n_steps; i++)
		printf("  %-9s %-8s %6llu ms%s%s\n", s->steps[i].name, s->steps[i].result,
		       (unsigned long long)s->steps[i].duration_ms, s->steps[i].message ? "  " : "",
		       s->steps[i].message ? s->steps[i].message : "");
}

int boot_status(const char *root, bool json, bool show_secrets)
{
	_cleanup_free_ char *dir = NULL, *cause = NULL, *conn_path = NULL, *conn = NULL;
	_cleanup_(health_report_done) struct health_report health = { 0 };
	struct storage_record vol = { 0 };
	struct state s = { 0 };
	bool have_vol;
	size_t len;
	int r;

	if (asprintf(&dir, "%s/var/lib/doagent", root ? root : "") < 0 ||
	    asprintf(&conn_path, "%s" PATH_CONNECTION, root ? root : "") < 0)
		return DOAGENT_EXIT_FAILURE;
	r = state_load(dir, &s, &cause);
	if (r < 0) {
		log_error("%s", cause ? cause : strerror(-r));
		return DOAGENT_EXIT_FAILURE;
	}
	if (show_secrets && fileio_read_file(conn_path, 64 * 1024, &conn, &len) < 0)
		conn = NULL;
	/* The volume, when there is one: what it waits for, or where Redis' data is. */
	have_vol = storage_record_load(dir, &vol, NULL) == 0;
	/* Live health needs Redis' password: root only. */
	r = show_secrets ? health_check(root, HEALTH_TIMEOUT_MS, &health)
			 : health_unchecked("live health: run as root (it needs Redis' password)", &health);
	if (r < 0)
		log_error("live health: %s", strerror(-r));
	if (json) {
		_cleanup_json_ json_object *o = json_object_new_object(), *steps = json_object_new_array();
		size_t i;

		if (!o || !steps)
			return DOAGENT_EXIT_FAILURE;
		json_object_object_add(o, "droplet_id", s.droplet_id ? json_object_new_string(s.droplet_id) : NULL);
		json_object_object_add(o, "result", s.result ? json_object_new_string(s.result) : NULL);
		json_object_object_add(o, "configured", s.configured ? json_object_new_string(s.configured) : NULL);
		json_object_object_add(o, "error", s.error ? json_object_new_string(s.error) : NULL);
		json_object_object_add(o, "exit_status", json_object_new_int(s.exit_status));
		json_object_object_add(o, "started", json_object_new_int64(s.started));
		json_object_object_add(o, "finished", json_object_new_int64(s.finished));
		for (i = 0; i < s.n_steps; i++) {
			json_object *st = json_object_new_object();

			json_object_array_add(steps, st);
			json_object_object_add(st, "name", json_object_new_string(s.steps[i].name));
			json_object_object_add(st, "result", json_object_new_string(s.steps[i].result));
			if (s.steps[i].message)
				json_object_object_add(st, "message", json_object_new_string(s.steps[i].message));
			json_object_object_add(st, "duration_ms", json_object_new_int64((int64_t)s.steps[i].duration_ms));
		}
		json_object_object_add(o, "steps", TAKE_PTR(steps));
		json_object_object_add(o, "storage", have_vol ? storage_record_to_json(&vol) : NULL);
		json_object_object_add(o, "health", health_to_json(&health));
		if (conn)
			json_object_object_add(o, "connection", json_object_new_string(conn));
		puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	} else {
		print_text(&s);
		if (have_vol)
			storage_record_print(&vol, stdout);
		putchar('\n');
		health_print(&health, NULL, stdout);
		if (conn)
			printf("\n%s", conn);
		else if (s.result && strcmp(s.result, "success") == 0 && !show_secrets)
			printf("\nConnection details: %s (root only)\n", PATH_CONNECTION);
	}
	r = s.result && strcmp(s.result, "success") == 0 ? 0 : (s.exit_status ? s.exit_status : DOAGENT_EXIT_FAILURE);
	if (!s.result)
		r = DOAGENT_EXIT_FAILURE;
	state_done(&s);
	storage_record_done(&vol);
	if (conn)
		explicit_bzero(conn, strlen(conn));
	return r;
}

/* uid/gid of a user and group name, from the root's own /etc/passwd and /etc/group
 * under --root, from the system's otherwise. */
int boot_lookup_ids(struct boot *b, const char *user, const char *group, uid_t *ret_uid, gid_t *ret_gid)
{
	_cleanup_free_ char *passwd = boot_path(b, "/etc/passwd"), *groups = boot_path(b, "/etc/group");
	_cleanup_fclose_ FILE *pf = NULL, *gf = NULL;
	struct passwd *pw = NULL;
	struct group *gr = NULL;

	if (!passwd || !groups)
		return -ENOMEM;
	if (!b->opt->root) {
		pw = getpwnam(user);
		gr = getgrnam(group);
	} else {
		pf = fopen(passwd, "re");
		gf = fopen(groups, "re");
		while (pf && (pw = fgetpwent(pf)) && strcmp(pw->pw_name, user) != 0)
			;
		while (gf && (gr = fgetgrent(gf)) && strcmp(gr->gr_name, group) != 0)
			;
	}
	if (!pw || !gr)
		return -ENOENT;
	*ret_uid = pw->pw_uid;
	*ret_gid = gr->gr_gid;
	return 0;
}
