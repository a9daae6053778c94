#include "autoconfig.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "secret.h"

/* len bytes from the kernel's CSPRNG. getrandom(2) without flags waits until the
 * CSPRNG has been seeded, as OpenSSL's RAND_bytes does; libcrypto is not touched,
 * which spares a start that makes no key (a dry run, TLS off) its ~2 MiB of pages. */
static int random_bytes(unsigned char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = getrandom(p, len, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int secret_generate_password(char **ret)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char bytes[SECRET_PASSWORD_BYTES];
	char *s;
	size_t i;

	if (random_bytes(bytes, sizeof(bytes)) < 0) {
		explicit_bzero(bytes, sizeof(bytes));
		return -EIO;
	}
	s = malloc(2 * sizeof(bytes) + 1);
	if (!s) {
		explicit_bzero(bytes, sizeof(bytes));
		return -ENOMEM;
	}
	for (i = 0; i < sizeof(bytes); i++) {
		s[2 * i] = hex[bytes[i] >> 4];
		s[2 * i + 1] = hex[bytes[i] & 0xf];
	}
	s[2 * sizeof(bytes)] = '\0';
	explicit_bzero(bytes, sizeof(bytes));
	*ret = s;
	return 0;
}
