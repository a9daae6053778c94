/* Exponential backoff under an overall deadline, on the monotonic clock. */
#ifndef DOAGENT_BACKOFF_H
#define DOAGENT_BACKOFF_H

#include <stdbool.h>
#include <stdint.h>

struct backoff {
	uint64_t initial_ms;	/* first delay, e.g. 250 */
	uint64_t max_ms;	/* delays double up to this, e.g. 5000 */
	uint64_t deadline;	/* monotonic ms after which no attempt starts */
	uint64_t next_ms;	/* the delay the next backoff_wait sleeps */
	uint64_t steady_until;	/* monotonic ms: until then every delay is initial_ms */
	unsigned attempts;
};

/* Monotonic milliseconds. */
uint64_t backoff_now_ms(void);

/* Start: deadline = now + deadline_ms. */
void backoff_init(struct backoff *b, uint64_t initial_ms, uint64_t max_ms, uint64_t deadline_ms);

/* Keep the delay at initial_ms, without doubling, for the first steady_ms after
 * backoff_init: for a service that is expected up within seconds, ask often at first. */
void backoff_steady(struct backoff *b, uint64_t steady_ms);

/* Milliseconds left before the deadline (0 when past it). */
uint64_t backoff_remaining_ms(const struct backoff *b);

/* Sleep before the next attempt: delay_hint_ms when not 0 (a Retry-After), else the
 * next delay, never past the deadline; then the delay doubles up to max (once the
 * steady time, if any, is over), and
 * attempts counts the calls. Returns false (without sleeping) when the deadline has
 * passed, true otherwise. */
bool backoff_wait(struct backoff *b, uint64_t delay_hint_ms);

#endif
