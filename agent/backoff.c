/*
 * Exponential backoff under an overall deadline.
 *
 * Every time is in milliseconds of CLOCK_MONOTONIC, so that a clock set at boot (NTP
 * stepping the wall clock on a fresh droplet) neither shortens nor stretches a wait.
 *
 * The rules of backoff_wait, which backoff.h states in short:
 * - the wait is delay_hint_ms when the caller gives one (a server's Retry-After, say),
 *   whether it is shorter or longer than the schedule's next delay, else the next delay;
 *   either way it is cut to the time left before the deadline;
 * - after every wait the schedule's delay doubles, up to max_ms, except during the
 *   steady time that backoff_steady sets (the delay stays initial_ms until it is over);
 * - attempts counts the calls to backoff_wait, that is the failed attempts so far;
 * - at or past the deadline it returns false at once: no attempt may start then.
 * A wait that a signal interrupts is resumed, to the same end.
 */
#include "autoconfig.h"

#include <errno.h>
#include <stdint.h>
#include <time.h>

#include "backoff.h"

#define MS_PER_S 1000ULL
#define NS_PER_MS 1000000ULL

uint64_t backoff_now_ms(void)
{
	struct timespec ts;

	/* CLOCK_MONOTONIC cannot fail on Linux with a valid pointer. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * MS_PER_S + (uint64_t)ts.tv_nsec / NS_PER_MS;
}

static uint64_t add_saturating(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

void backoff_init(struct backoff *b, uint64_t initial_ms, uint64_t max_ms, uint64_t deadline_ms)
{
	b->initial_ms = initial_ms;
	b->max_ms = max_ms < initial_ms ? initial_ms : max_ms;
	b->deadline = add_saturating(backoff_now_ms(), deadline_ms);
	b->next_ms = initial_ms;
	b->steady_until = 0;
	b->attempts = 0;
}

void backoff_steady(struct backoff *b, uint64_t steady_ms)
{
	b->steady_until = add_saturating(backoff_now_ms(), steady_ms);
}

uint64_t backoff_remaining_ms(const struct backoff *b)
{
	uint64_t now = backoff_now_ms();

	return now >= b->deadline ? 0 : b->deadline - now;
}

/* Sleeps until the monotonic time until_ms, through any signal. */
static void sleep_until(uint64_t until_ms)
{
	struct timespec ts = {
		.tv_sec = (time_t)(until_ms / MS_PER_S),
		.tv_nsec = (long)(until_ms % MS_PER_S * NS_PER_MS),
	};
	int r;

	do
		r = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
	while (r == EINTR);
}

bool backoff_wait(struct backoff *b, uint64_t delay_hint_ms)
{
	uint64_t now = backoff_now_ms(), delay;

	b->attempts++;
	if (now >= b->deadline)
		return false;
	delay = delay_hint_ms ? delay_hint_ms : b->next_ms;
	if (delay > b->deadline - now)
		delay = b->deadline - now;
	if (now + delay >= b->steady_until)
		b->next_ms = b->next_ms > b->max_ms / 2 ? b->max_ms : b->next_ms * 2;
	sleep_until(now + delay);
	return true;
}
