/*
 * Actions on droplets and volumes, and waiting for what they do: the state the API
 * shows, not only the action's status, decides. Each asks once (POST is never
 * retried); after an answer that leaves it unknown whether the action was taken, it
 * watches the state until the deadline. Each returns 0 once the state is as asked, or
 * an exit status after reporting why. b is the deadline's backoff: polls are at most
 * 1.5 s apart.
 */
#ifndef DOAGENT_ACT_H
#define DOAGENT_ACT_H

#include "backoff.h"
#include "doapi.h"
#include "launch.h"

/* Send droplet id the action type ("shutdown", "power_on") and wait until its status is
 * want ("off", "active"). A droplet that already is want is left alone. */
int act_power(struct doapi *api, const char *id, const char *type, const char *want,
	      struct backoff *b, struct launch_progress *p);

/* type "attach": attach *v to droplet id; "detach": detach it from droplet id; then
 * wait until the volume shows it. Nothing is asked when it already does; *ret_asked
 * (when not NULL) says whether the action was asked for. *v is replaced by the volume
 * as last seen. */
int act_volume(struct doapi *api, struct doapi_volume **v, const char *type, const char *id,
	       struct backoff *b, bool *ret_asked);

/* Wait until v is attached to no droplet (destroying a droplet detaches its volumes a
 * little later), then delete it. A volume that is gone counts as deleted. */
int act_volume_delete(struct doapi *api, const struct doapi_volume *v, struct backoff *b);

#endif
