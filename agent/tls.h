/* Certificates for stunnel (libcrypto): a self-signed one per droplet, or the user
 * data's own, checked before anything is written. */
#ifndef DOAGENT_TLS_H
#define DOAGENT_TLS_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "metadata.h"

/* Days a self-signed certificate is valid. */
#define TLS_SELF_SIGNED_DAYS 3650

/*
 * A new private key (ECDSA P-256) in PKCS#8 PEM. Returns 0 and a malloc'd *ret
 * (erase before freeing), or -EIO with *ret_cause. The key is kept, decoded, for the
 * next tls_make_self_signed call alone (which uses it when given the same PEM).
 */
int tls_make_key(char **ret, char **ret_cause);

/*
 * A self-signed certificate for key_pem (PEM) and this droplet: subject CN = the
 * hostname; subjectAltName = DNS:hostname, IP:127.0.0.1, and every IPv4/IPv6 the
 * metadata gives (public, private, anchor, reserved); basicConstraints CA:FALSE;
 * keyUsage digitalSignature; extendedKeyUsage serverAuth; a random serial; valid
 * from one hour ago for TLS_SELF_SIGNED_DAYS. Returns 0 and a malloc'd PEM, or
 * -EINVAL (bad key) / -EIO with *ret_cause.
 */
int tls_make_self_signed(const char *key_pem, const struct metadata *md, char **ret, char **ret_cause);

/*
 * The one certificate of a replication group named name (doagent-launch create
 * --standby), for key_pem (PEM): subject CN = name; subjectAltName = DNS:name and nothing
 * else (the nodes' addresses are not known before they exist: peers trust the
 * certificate itself, not a name in it); basicConstraints CA:FALSE; keyUsage
 * digitalSignature; extendedKeyUsage serverAuth and clientAuth (every node is a server
 * and its peers' client); a random serial; valid from one hour ago for
 * TLS_SELF_SIGNED_DAYS. Returns 0 and a malloc'd PEM, or -EINVAL (a bad key, or a name
 * that is not a DNS name of at most 64 characters) / -EIO with *ret_cause.
 */
int tls_make_group_certificate(const char *key_pem, const char *name, char **ret, char **ret_cause);

/*
 * Check a user-supplied certificate (chain, PEM) and key: both parse, the key is the
 * certificate's, the leaf is valid now (not before its start, not expired) and is not
 * a CA. Returns 0, or -EBADMSG with *ret_cause naming what is wrong (never quoting
 * the key).
 */
int tls_check_pair(const char *cert_pem, const char *key_pem, char **ret_cause);

/* True when the leaf certificate in cert_pem was made for this droplet: its SANs
 * hold every address tls_make_self_signed would put there. Lets a retried run keep
 * a certificate and a new droplet get a new one. */
bool tls_cert_matches(const char *cert_pem, const struct metadata *md);

/* The SHA-256 fingerprint of the leaf, as "AB:CD:...", into a malloc'd *ret. */
int tls_fingerprint(const char *cert_pem, char **ret, char **ret_cause);

/* The user data's certificate and key, when it gives them, checked as a pair
 * (tls_check_pair). Returns 0 (also when there is none), or -EBADMSG with a cause
 * naming the line and key: "line 7: [tls] certificate: ...". */
int tls_check_config(const struct config *c, char **ret_cause);

#endif
