/* Step 3: the user data, checked against the key table. Invalid user data stops the
 * run with 65, and the runner fails closed. */
#include "autoconfig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot.h"
#include "buf.h"
#include "doagent.h"
#include "fileio.h"
#include "log.h"
#include "tls.h"
#include "strutil.h"

static int read_user_data(struct boot *b, char **ret, size_t *ret_len, char **ret_cause)
{
	int r;

	if (!b->opt->user_data) {
		*ret = malloc(b->md->user_data_len + 1);
		if (!*ret)
			return -ENOMEM;
		if (b->md->user_data)
			memcpy(*ret, b->md->user_data, b->md->user_data_len);
		(*ret)[b->md->user_data_len] = '\0';
		*ret_len = b->md->user_data_len;
		return 0;
	}
	r = fileio_read_file(b->opt->user_data, DOAGENT_USERDATA_MAX + 1, ret, ret_len);
	if (r == -E2BIG) {
		*ret_len = DOAGENT_USERDATA_MAX + 1;	/* userdata_parse names the limit */
		*ret = calloc(1, *ret_len + 1);
		return *ret ? 0 : -ENOMEM;
	}
	if (r < 0 && asprintf(ret_cause, "%s: %s", b->opt->user_data, strerror(-r)) < 0)
		*ret_cause = NULL;
	return r;
}

static int run(struct boot *b, char **ret_cause)
{
	_cleanup_erase_ char *data = NULL;
	_cleanup_buf_ struct buf errors = BUF_INIT;
	size_t len, i;
	int r;

	r = read_user_data(b, &data, &len, ret_cause);
	if (r < 0)
		return DOAGENT_EXIT_FAILURE;
	r = config_init(&b->config);
	if (r < 0)
		return DOAGENT_EXIT_FAILURE;
	r = userdata_parse(data, len, &b->config, &b->report);
	if (data)
		explicit_bzero(data, len);
	if (r == -ENOMEM)
		return DOAGENT_EXIT_FAILURE;
	for (i = 0; i < b->report.n_diags; i++) {
		_cleanup_free_ char *text = userdata_diag_format(&b->report, &b->report.diags[i]);
		bool error = b->report.diags[i].severity == USERDATA_ERROR;

		log_step(error ? LOG_ERR : LOG_NOTICE, "userdata", b->md->droplet_id, 0, "user data: %s",
			 text ? text : b->report.diags[i].message);
		if (error && text)
			buf_printf(&errors, "%s%s", errors.len ? "; " : "", text);
	}
	if (r < 0) {
		*ret_cause = buf_steal(&errors, NULL);
		return DOAGENT_EXIT_DATAERR;
	}
	if (tls_check_config(&b->config, ret_cause) < 0) {
		log_step(LOG_ERR, "userdata", b->md->droplet_id, 0, "user data: %s", *ret_cause ? *ret_cause : "bad TLS pair");
		return DOAGENT_EXIT_DATAERR;
	}
	strutil_cause(ret_cause, 0, "%s", b->report.kind == USERDATA_DOAGENT ? "valid" : "not doagent's: the defaults apply");
	return 0;
}

const struct boot_step step_userdata = { "userdata", run, false };
