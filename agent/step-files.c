/* Step 5: decide and render (plan.c), then write every file atomically with its mode
 * and owner. A file whose content is already right is left alone, so a rerun changes
 * nothing and restarts nothing. */
#include "autoconfig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "boot.h"
#include "doagent.h"
#include "fileio.h"
#include "strv.h"
#include "strutil.h"

static bool same_content(const char *path, const struct plan_file *f)
{
	_cleanup_erase_ char *old = NULL;
	size_t len;

	return fileio_read_file(path, f->len + 1, &old, &len) == 0 && len == f->len &&
	       memcmp(old, f->content, len) == 0;
}

static int write_files(struct boot *b, char **ret_cause)
{
	size_t i, n_written = 0, n_removed = 0;
	int r;

	for (i = 0; i < b->plan->n_files; i++) {
		const struct plan_file *f = &b->plan->files[i];
		_cleanup_free_ char *path = boot_path(b, f->path);
		char *slash;
		uid_t uid;
		gid_t gid;

		if (!path)
			return -ENOMEM;
		r = boot_lookup_ids(b, f->owner, f->group, &uid, &gid);
		if (r < 0) {
			strutil_cause(ret_cause, 0, "%s: no user %s or group %s on this system", f->path, f->owner, f->group);
			return r;
		}
		slash = strrchr(path, '/');
		*slash = '\0';
		r = fileio_mkdir_p(path, 0755);
		*slash = '/';
		if (r >= 0 && same_content(path, f))
			continue;
		if (r >= 0)
			r = fileio_write_atomic(path, f->content, f->len, f->mode, uid, gid);
		if (r < 0) {
			strutil_cause(ret_cause, 0, "%s: %s", path, strerror(-r));
			return r;
		}
		n_written++;
	}
	/* A certificate or key the tls step wrote counts as a change too. */
	for (char **p = b->plan->remove; p && *p; p++) {
		_cleanup_free_ char *path = boot_path(b, *p);

		if (!path)
			return -ENOMEM;
		if (unlink(path) < 0) {
			if (errno == ENOENT)
				continue;
			r = -errno;
			strutil_cause(ret_cause, 0, "%s: %s", path, strerror(-r));
			return r;
		}
		r = fileio_defer_note(path);
		if (r < 0) {
			strutil_cause(ret_cause, 0, "%s: %s", path, strerror(-r));
			return r;
		}
		n_removed++;
	}
	b->changed |= n_written + n_removed > 0;
	strutil_cause(ret_cause, 0, "%zu of %zu files written%s", n_written, b->plan->n_files,
		      n_removed ? ", and what an earlier configuration left removed" : "");
	return 0;
}

static int run(struct boot *b, char **ret_cause)
{
	_cleanup_free_ char *meminfo = NULL;
	_cleanup_strv_ char **notices = NULL;
	struct plan_input in = { 0 };
	size_t len, i;
	int r;

	if (fileio_read_file("/proc/meminfo", 64 * 1024, &meminfo, &len) < 0 ||
	    plan_parse_meminfo(meminfo, &in.mem_total) < 0) {
		*ret_cause = strdup("cannot read MemTotal from /proc/meminfo");
		return DOAGENT_EXIT_FAILURE;
	}
	for (i = 0; i < b->report.n_diags; i++) {
		_cleanup_free_ char *text = userdata_diag_format(&b->report, &b->report.diags[i]);

		if (text && strv_extendf(&notices, "user data: %s", text) < 0)
			return DOAGENT_EXIT_FAILURE;
	}
	in.config = &b->config;
	in.metadata = b->md;
	in.password = b->password;
	in.password_generated = b->password_generated;
	in.tls_fingerprint = b->tls_fingerprint;
	in.templates_dir = b->opt->templates;
	in.shipped_dir = b->opt->shipped_templates;
	in.notices = (const char *const *)notices;
	r = plan_build(&in, &b->plan, ret_cause);
	if (r < 0)
		return r == -EBADMSG ? DOAGENT_EXIT_DATAERR : DOAGENT_EXIT_FAILURE;
	if (b->configured) {
		/* Nothing to render for a droplet that is configured: keep its files. */
		strutil_cause(ret_cause, 0, "configured already; files left as they are");
		return 0;
	}
	r = write_files(b, ret_cause);
	return r < 0 ? DOAGENT_EXIT_FAILURE : 0;
}

const struct boot_step step_files = { "files", run, false };
