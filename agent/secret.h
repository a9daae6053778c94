/* Secrets made on the droplet. */
#ifndef DOAGENT_SECRET_H
#define DOAGENT_SECRET_H

#include <stddef.h>

/* Bytes of randomness in a generated password (DESIGN.md: 32). */
#define SECRET_PASSWORD_BYTES 32

/* A new password: SECRET_PASSWORD_BYTES from the kernel's CSPRNG (getrandom(2)),
 * as lower-case hex. Returns 0 and a malloc'd *ret (erase it before
 * freeing: _cleanup_erase_), or -EIO / -ENOMEM. */
int secret_generate_password(char **ret);

#endif
