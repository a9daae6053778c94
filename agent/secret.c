#include "autoconfig.h"

#include <errno.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

#include "secret.h"

int secret_generate_password(char **ret)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char bytes[SECRET_PASSWORD_BYTES];
	char *s;
	size_t i;

	if (RAND_bytes(bytes, sizeof(bytes)) != 1)
		return -EIO;
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
