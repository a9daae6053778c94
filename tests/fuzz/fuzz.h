/* What the libFuzzer targets in tests/fuzz/ share: the entry point's prototype, a
 * check that aborts (libFuzzer then saves the input as a crash), and small helpers. */
#ifndef DOAGENT_FUZZ_H
#define DOAGENT_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                                  \
	do {                                                                              \
		if (!(cond)) {                                                            \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__,  \
				#cond);                                                   \
			abort();                                                          \
		}                                                                         \
	} while (0)

/* Allocation failures are not what these targets look for: stop loudly. */
#define FUZZ_NONNULL(p) FUZZ_CHECK((p) != NULL)

/* A NUL-terminated copy of [data, data + size): stops at the first NUL. */
static inline char *fuzz_string(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, '\0', size);
	size_t n = nul ? (size_t)(nul - data) : size;
	char *s = malloc(n + 1);

	FUZZ_NONNULL(s);
	memcpy(s, data, n);
	s[n] = '\0';
	return s;
}

/* Every byte of s is printable ASCII (messages go to logs and terminals). */
static inline bool fuzz_printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return false;
	return true;
}

#endif
