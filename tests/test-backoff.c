/* Exponential backoff: the schedule, the hint, the deadline, signals. */
#include "autoconfig.h"

#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/time.h>
#include <cmocka.h>

#include "backoff.h"

/* How late a wake-up may be on a busy machine. */
#define SLACK_MS 200

/* One backoff_wait, checking what it returns and that it slept within
 * [expected_ms, expected_ms + SLACK_MS]. */
static void wait_and_check(struct backoff *b, uint64_t hint, bool expected_ret, uint64_t expected_ms)
{
	uint64_t start = backoff_now_ms(), elapsed;
	bool r = backoff_wait(b, hint);

	elapsed = backoff_now_ms() - start;
	assert_int_equal(r, expected_ret);
	if (elapsed < expected_ms || elapsed > expected_ms + SLACK_MS)
		fail_msg("slept %llu ms, expected %llu ms", (unsigned long long)elapsed,
			 (unsigned long long)expected_ms);
}

static void test_now_is_monotonic(void **state)
{
	uint64_t a = backoff_now_ms(), b;

	for (int i = 0; i < 1000; i++) {
		b = backoff_now_ms();
		assert_true(b >= a);
		a = b;
	}
}

static void test_delays_double_and_cap(void **state)
{
	struct backoff b;

	backoff_init(&b, 10, 45, 10000);
	assert_int_equal(b.next_ms, 10);
	assert_int_equal(b.attempts, 0);
	wait_and_check(&b, 0, true, 10);
	assert_int_equal(b.next_ms, 20);
	wait_and_check(&b, 0, true, 20);
	assert_int_equal(b.next_ms, 40);
	wait_and_check(&b, 0, true, 40);
	assert_int_equal(b.next_ms, 45);	/* capped, not 80 */
	wait_and_check(&b, 0, true, 45);
	assert_int_equal(b.next_ms, 45);
	assert_int_equal(b.attempts, 4);
}

/* doagent's schedule, 0.25 s doubling to 5 s: a 1 ms hint keeps each wait short while
 * the schedule moves on as it would. */
static void test_the_real_schedule(void **state)
{
	static const uint64_t want[] = { 250, 500, 1000, 2000, 4000, 5000, 5000 };
	struct backoff b;

	backoff_init(&b, 250, 5000, 10000);
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		assert_int_equal(b.next_ms, want[i]);
		wait_and_check(&b, 1, true, 1);
	}
}

/* One backoff_wait that should end at the deadline. */
static void wait_to_deadline(struct backoff *b, uint64_t hint)
{
	assert_true(backoff_wait(b, hint));
	assert_true(backoff_now_ms() >= b->deadline);
	assert_true(backoff_now_ms() <= b->deadline + SLACK_MS);
}

/* The metadata service's schedule: the delay stays at 0.25 s while steady, then doubles.
 * 1 ms hints keep the waits short while the schedule moves on as it would. */
static void test_steady_then_doubling(void **state)
{
	struct backoff b;
	int i;

	backoff_init(&b, 250, 5000, 60000);
	backoff_steady(&b, 10000);
	assert_true(b.steady_until >= backoff_now_ms() + 9000);
	for (i = 0; i < 5; i++) {
		wait_and_check(&b, 1, true, 1);
		assert_int_equal(b.next_ms, 250);
	}
	/* Past the steady time: doubling as before. */
	b.steady_until = backoff_now_ms();
	wait_and_check(&b, 1, true, 1);
	assert_int_equal(b.next_ms, 500);
	wait_and_check(&b, 1, true, 1);
	assert_int_equal(b.next_ms, 1000);
	assert_int_equal(b.attempts, 7);
}

static void test_steady_without_call_is_plain(void **state)
{
	struct backoff b;

	backoff_init(&b, 10, 100, 10000);
	wait_and_check(&b, 0, true, 10);
	assert_int_equal(b.next_ms, 20);
}

static void test_max_below_initial(void **state)
{
	struct backoff b;

	backoff_init(&b, 30, 10, 10000);
	assert_int_equal(b.max_ms, 30);
	wait_and_check(&b, 0, true, 30);
	assert_int_equal(b.next_ms, 30);
}

static void test_hint_replaces_the_delay(void **state)
{
	struct backoff b;

	backoff_init(&b, 100, 1000, 10000);
	/* Shorter than the schedule's 100 ms: the hint. */
	wait_and_check(&b, 20, true, 20);
	/* The schedule moves on all the same. */
	assert_int_equal(b.next_ms, 200);
	/* Longer than the schedule's 200 ms (a server's Retry-After): the hint too. */
	wait_and_check(&b, 300, true, 300);
	assert_int_equal(b.next_ms, 400);
	/* Longer than max_ms: still the hint, which only the deadline cuts. */
	backoff_init(&b, 10, 20, 10000);
	wait_and_check(&b, 120, true, 120);
}

static void test_hint_capped_by_deadline(void **state)
{
	struct backoff b;

	backoff_init(&b, 10, 1000, 150);
	wait_to_deadline(&b, 60000);
	assert_int_equal(backoff_remaining_ms(&b), 0);
	wait_and_check(&b, 60000, false, 0);
}

static void test_deadline(void **state)
{
	uint64_t start = backoff_now_ms();
	struct backoff b;

	backoff_init(&b, 50, 1000, 120);
	assert_true(backoff_remaining_ms(&b) <= 120);
	assert_true(backoff_remaining_ms(&b) >= 100);
	wait_and_check(&b, 0, true, 50);
	/* 100 ms are due but only about 70 are left: it sleeps to the deadline. */
	assert_true(backoff_remaining_ms(&b) < 100);
	wait_to_deadline(&b, 0);
	assert_int_equal(backoff_remaining_ms(&b), 0);
	/* Past the deadline: false at once, without sleeping. */
	wait_and_check(&b, 0, false, 0);
	wait_and_check(&b, 5, false, 0);
	assert_int_equal(b.attempts, 4);
	assert_true(backoff_now_ms() - start >= 120);
	assert_true(backoff_now_ms() - start <= 120 + SLACK_MS);
}

static void test_zero_deadline(void **state)
{
	struct backoff b;

	backoff_init(&b, 50, 1000, 0);
	assert_int_equal(backoff_remaining_ms(&b), 0);
	wait_and_check(&b, 0, false, 0);
}

static void test_huge_deadline_does_not_wrap(void **state)
{
	struct backoff b;

	backoff_init(&b, 1, 2, UINT64_MAX);
	assert_int_equal(b.deadline, UINT64_MAX);
	assert_true(backoff_remaining_ms(&b) > UINT64_MAX / 2);
	wait_and_check(&b, 0, true, 1);
}

static volatile sig_atomic_t alarms;

static void on_alarm(int sig)
{
	alarms++;
}

/* A signal in the middle of a wait does not cut it short. */
static void test_signal_does_not_shorten(void **state)
{
	struct sigaction sa = { .sa_handler = on_alarm }, old;
	struct itimerval every_20ms = {
		.it_interval = { .tv_usec = 20000 },
		.it_value = { .tv_usec = 20000 },
	}, off = { { 0, 0 }, { 0, 0 } };
	struct backoff b;

	sigemptyset(&sa.sa_mask);	/* no SA_RESTART: the sleep sees EINTR */
	assert_int_equal(sigaction(SIGALRM, &sa, &old), 0);
	alarms = 0;
	assert_int_equal(setitimer(ITIMER_REAL, &every_20ms, NULL), 0);
	backoff_init(&b, 150, 1000, 10000);
	wait_and_check(&b, 0, true, 150);
	assert_int_equal(setitimer(ITIMER_REAL, &off, NULL), 0);
	assert_int_equal(sigaction(SIGALRM, &old, NULL), 0);
	assert_true(alarms >= 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_now_is_monotonic),
		cmocka_unit_test(test_delays_double_and_cap),
		cmocka_unit_test(test_the_real_schedule),
		cmocka_unit_test(test_steady_then_doubling),
		cmocka_unit_test(test_steady_without_call_is_plain),
		cmocka_unit_test(test_max_below_initial),
		cmocka_unit_test(test_hint_replaces_the_delay),
		cmocka_unit_test(test_hint_capped_by_deadline),
		cmocka_unit_test(test_deadline),
		cmocka_unit_test(test_zero_deadline),
		cmocka_unit_test(test_huge_deadline_does_not_wrap),
		cmocka_unit_test(test_signal_does_not_shorten),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
