/*
 * Certificates for stunnel, with libcrypto.
 *
 * MUST:
 * - never put key bytes in a message: a cause is our own text plus OpenSSL's error
 *   code text (ERR_error_string_n), never the input;
 * - never prompt for a passphrase: an encrypted key is an error;
 * - erase every buffer of ours that held a private key, and keep OpenSSL's in secure
 *   memory BIOs;
 * - build the subjectAltName from typed GENERAL_NAME entries (IP addresses as their 4 or
 *   16 bytes), never from text handed to OpenSSL's configuration parser;
 * - write nothing: callers decide where PEM goes, and only after a check passed.
 */
#include "autoconfig.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "buf.h"
#include "macro.h"
#include "tls.h"

/* More certificates than this in one chain is not a chain someone meant. */
#define TLS_MAX_CHAIN 16
/* NIST's floor and Debian's default OpenSSL security level 2: RSA 2048, ECDSA P-256. */
#define TLS_MIN_SECURITY_BITS 112
/* RFC 5280's upper bound for a commonName. */
#define TLS_CN_MAX 64

DEFINE_TRIVIAL_CLEANUP_FUNC(EVP_PKEY *, EVP_PKEY_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(X509 *, X509_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(BIO *, BIO_free_all)
DEFINE_TRIVIAL_CLEANUP_FUNC(BIGNUM *, BN_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(GENERAL_NAME *, GENERAL_NAME_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(GENERAL_NAMES *, GENERAL_NAMES_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(ASN1_STRING *, ASN1_STRING_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(ASN1_OCTET_STRING *, ASN1_OCTET_STRING_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(ASN1_BIT_STRING *, ASN1_BIT_STRING_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(BASIC_CONSTRAINTS *, BASIC_CONSTRAINTS_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(EXTENDED_KEY_USAGE *, EXTENDED_KEY_USAGE_free)

static void x509_stack_freep(STACK_OF(X509) **p)
{
	if (*p)
		sk_X509_pop_free(*p, X509_free);
}

/* One block as PEM_read_bio hands it out; the data may be a key, so it is cleared. */
struct pem_block {
	char *name;
	char *header;
	unsigned char *data;
	long len;
};

static void pem_block_done(struct pem_block *b)
{
	OPENSSL_free(b->name);
	OPENSSL_free(b->header);
	if (b->data)
		OPENSSL_clear_free(b->data, (size_t)b->len);
	*b = (struct pem_block){ NULL, NULL, NULL, 0 };
}

/*
 * Store fmt in *ret_cause (unless ret_cause is NULL), followed by the text of
 * OpenSSL's latest error when there is one, and clear OpenSSL's error queue.
 * Returns r. *ret_cause is NULL when there was no memory for it.
 */
static _printf_(3, 4) int fail(char **ret_cause, int r, const char *fmt, ...)
{
	_cleanup_buf_ struct buf b = BUF_INIT;
	unsigned long e = ERR_peek_last_error();
	char text[256];
	va_list ap;
	int q;

	ERR_clear_error();
	if (!ret_cause)
		return r;
	va_start(ap, fmt);
	q = buf_vprintf(&b, fmt, ap);
	va_end(ap);
	if (q >= 0 && e != 0) {
		ERR_error_string_n(e, text, sizeof(text));
		q = buf_printf(&b, " (%s)", text);
	}
	*ret_cause = q < 0 ? NULL : buf_steal(&b, NULL);
	return r;
}

/* The contents of a memory BIO as a malloc'd string; erased with the BIO by the caller. */
static int bio_to_string(BIO *bio, char **ret)
{
	char *data = NULL;
	long n = BIO_get_mem_data(bio, &data);
	char *s;

	if (n <= 0 || !data)
		return -EIO;
	s = malloc((size_t)n + 1);
	if (!s)
		return -ENOMEM;
	memcpy(s, data, (size_t)n);
	s[n] = '\0';
	*ret = s;
	return 0;
}

static int refuse_passphrase(char *buf, int size, int rwflag, void *userdata)
{
	*(bool *)userdata = true;
	return -1;
}

/* The first private key in pem. Returns 0, -EBADMSG or -ENOMEM with *ret_cause. */
static int parse_key(const char *pem, EVP_PKEY **ret, char **ret_cause)
{
	_cleanup_(BIO_free_allp) BIO *in = NULL;
	bool asked = false;
	EVP_PKEY *key;

	if (!pem || !*pem)
		return fail(ret_cause, -EBADMSG, "key: empty");
	in = BIO_new_mem_buf(pem, -1);
	if (!in)
		return fail(ret_cause, -ENOMEM, "key: out of memory");
	key = PEM_read_bio_PrivateKey(in, NULL, refuse_passphrase, &asked);
	if (!key && asked) {
		ERR_clear_error();
		return fail(ret_cause, -EBADMSG,
			    "key: encrypted with a passphrase; give the key without one");
	}
	if (!key)
		return fail(ret_cause, -EBADMSG, "key: not a PEM private key");
	*ret = key;
	return 0;
}

/*
 * Every certificate in pem, in order: only CERTIFICATE blocks are allowed, at least one,
 * at most TLS_MAX_CHAIN, each a whole DER certificate. Text around the blocks is
 * ignored, as OpenSSL does. Returns 0, or -EBADMSG / -ENOMEM with *ret_cause.
 */
static int parse_certs(const char *pem, STACK_OF(X509) **ret, char **ret_cause)
{
	_cleanup_(BIO_free_allp) BIO *in = NULL;
	_cleanup_(x509_stack_freep) STACK_OF(X509) *certs = NULL;
	_cleanup_(pem_block_done) struct pem_block b = { NULL, NULL, NULL, 0 };

	if (!pem || !*pem)
		return fail(ret_cause, -EBADMSG, "certificate: empty");
	in = BIO_new_mem_buf(pem, -1);
	certs = sk_X509_new_null();
	if (!in || !certs)
		return fail(ret_cause, -ENOMEM, "certificate: out of memory");

	for (;;) {
		int n = sk_X509_num(certs);
		const unsigned char *p;
		X509 *x;

		pem_block_done(&b);
		if (!PEM_read_bio(in, &b.name, &b.header, &b.data, &b.len)) {
			unsigned long e = ERR_peek_last_error();

			if (n > 0 && ERR_GET_LIB(e) == ERR_LIB_PEM &&
			    ERR_GET_REASON(e) == PEM_R_NO_START_LINE) {
				ERR_clear_error();
				break;
			}
			if (n == 0)
				return fail(ret_cause, -EBADMSG,
					    "certificate: no PEM certificate found");
			return fail(ret_cause, -EBADMSG, "certificate: block %d is not valid PEM",
				    n + 1);
		}
		if (strstr(b.name, "PRIVATE KEY"))
			return fail(ret_cause, -EBADMSG,
				    "certificate: block %d is a private key, which belongs under "
				    "key =",
				    n + 1);
		if (strcmp(b.name, PEM_STRING_X509) != 0)
			return fail(ret_cause, -EBADMSG,
				    "certificate: block %d is not a CERTIFICATE", n + 1);
		if (b.header && *b.header)
			return fail(ret_cause, -EBADMSG, "certificate: block %d has PEM headers",
				    n + 1);
		if (n == TLS_MAX_CHAIN)
			return fail(ret_cause, -EBADMSG, "certificate: more than %d certificates",
				    TLS_MAX_CHAIN);
		p = b.data;
		x = d2i_X509(NULL, &p, b.len);
		if (!x || p != b.data + b.len) {
			X509_free(x);
			return fail(ret_cause, -EBADMSG,
				    "certificate: block %d is not an X.509 certificate", n + 1);
		}
		if (!sk_X509_push(certs, x)) {
			X509_free(x);
			return fail(ret_cause, -ENOMEM, "certificate: out of memory");
		}
	}
	*ret = TAKE_PTR(certs);
	return 0;
}

/* The leaf (first) certificate of pem, for the caller to free. */
static int parse_leaf(const char *pem, X509 **ret, char **ret_cause)
{
	_cleanup_(x509_stack_freep) STACK_OF(X509) *certs = NULL;
	int r;

	r = parse_certs(pem, &certs, ret_cause);
	if (r < 0)
		return r;
	*ret = sk_X509_shift(certs);
	return 0;
}

/* A name a DNS subjectAltName can carry: letters, digits and hyphens in labels of 1..63
 * bytes that neither start nor end with a hyphen, joined by dots; not an IPv4 literal. */
static bool dns_name_ok(const char *s)
{
	unsigned char addr[4];
	size_t label = 0;
	const char *p;

	if (!s || !*s || strlen(s) > 253 || inet_pton(AF_INET, s, addr) == 1)
		return false;
	for (p = s;; p++) {
		if (*p == '.' || *p == '\0') {
			if (label == 0 || label > 63 || p[-1] == '-')
				return false;
			if (*p == '\0')
				return true;
			label = 0;
		} else if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			   (*p >= '0' && *p <= '9') || (*p == '-' && label > 0))
			label++;
		else
			return false;
	}
}

/* Append a name of type GEN_DNS or GEN_IPADD unless gens already holds it. */
static int san_add(GENERAL_NAMES *gens, int type, const void *data, int len)
{
	_cleanup_(GENERAL_NAME_freep) GENERAL_NAME *gn = GENERAL_NAME_new();
	_cleanup_(ASN1_STRING_freep) ASN1_STRING *value = NULL;
	int i;

	if (!gn)
		return -ENOMEM;
	value = type == GEN_IPADD ? ASN1_OCTET_STRING_new() : ASN1_IA5STRING_new();
	if (!value || !ASN1_STRING_set(value, data, len))
		return -ENOMEM;
	GENERAL_NAME_set0_value(gn, type, TAKE_PTR(value));
	for (i = 0; i < sk_GENERAL_NAME_num(gens); i++)
		if (GENERAL_NAME_cmp(sk_GENERAL_NAME_value(gens, i), gn) == 0)
			return 0;
	if (!sk_GENERAL_NAME_push(gens, gn))
		return -ENOMEM;
	TAKE_PTR(gn);
	return 0;
}

/* An address in text form as its 4 or 16 bytes; nothing for NULL or "". */
static int san_add_ip(GENERAL_NAMES *gens, const char *text)
{
	unsigned char bytes[16];

	if (!text || !*text)
		return 0;
	if (inet_pton(AF_INET, text, bytes) == 1)
		return san_add(gens, GEN_IPADD, bytes, 4);
	if (inet_pton(AF_INET6, text, bytes) == 1)
		return san_add(gens, GEN_IPADD, bytes, 16);
	return -EINVAL;
}

static int san_add_interface(GENERAL_NAMES *gens, const struct metadata_interface *ifc)
{
	int r;

	r = san_add_ip(gens, ifc->ipv4.present ? ifc->ipv4.address : NULL);
	if (r >= 0)
		r = san_add_ip(gens, ifc->ipv6.present ? ifc->ipv6.address : NULL);
	if (r >= 0)
		r = san_add_ip(gens, ifc->anchor_ipv4.present ? ifc->anchor_ipv4.address : NULL);
	return r;
}

/* The subjectAltName for md: DNS:hostname when it is a DNS name, IP:127.0.0.1, then the
 * public interfaces, the reserved IPv4 and the private interfaces, each address once. */
static int sans_for(const struct metadata *md, GENERAL_NAMES **ret)
{
	_cleanup_(GENERAL_NAMES_freep) GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
	size_t i;
	int r;

	if (!gens)
		return -ENOMEM;
	r = 0;
	if (dns_name_ok(md->hostname))
		r = san_add(gens, GEN_DNS, md->hostname, (int)strlen(md->hostname));
	if (r >= 0)
		r = san_add_ip(gens, "127.0.0.1");
	for (i = 0; r >= 0 && i < md->n_public_if; i++)
		r = san_add_interface(gens, &md->public_if[i]);
	if (r >= 0)
		r = san_add_ip(gens, md->floating_ipv4);
	for (i = 0; r >= 0 && i < md->n_private_if; i++)
		r = san_add_interface(gens, &md->private_if[i]);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(gens);
	return 0;
}

static bool set_random_serial(X509 *x)
{
	_cleanup_(BN_freep) BIGNUM *bn = BN_new();

	/* 159 bits with the top one set: positive, never zero, 20 bytes encoded. */
	return bn && BN_rand(bn, 159, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY) &&
	       BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
}

static bool set_subject(X509 *x, const char *hostname)
{
	X509_NAME *name = X509_get_subject_name(x);
	const char *cn = hostname && *hostname ? hostname : "doagent";
	size_t len = strlen(cn);

	if (len > TLS_CN_MAX)
		len = TLS_CN_MAX;
	return X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_ASC,
					  (const unsigned char *)cn, (int)len, -1, 0) &&
	       X509_set_issuer_name(x, name);
}

/* client: clientAuth beside serverAuth, for a certificate that every node of a group
 * presents both to its peers and as their client. */
static bool add_extensions(X509 *x, const EVP_PKEY *key, GENERAL_NAMES *sans, bool client)
{
	_cleanup_(BASIC_CONSTRAINTS_freep) BASIC_CONSTRAINTS *bc = BASIC_CONSTRAINTS_new();
	_cleanup_(ASN1_BIT_STRING_freep) ASN1_BIT_STRING *ku = ASN1_BIT_STRING_new();
	_cleanup_(EXTENDED_KEY_USAGE_freep) EXTENDED_KEY_USAGE *eku = sk_ASN1_OBJECT_new_null();
	_cleanup_(ASN1_OCTET_STRING_freep) ASN1_OCTET_STRING *skid = ASN1_OCTET_STRING_new();
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned len;

	if (!bc || !ku || !eku || !skid)
		return false;
	bc->ca = 0;
	/* digitalSignature; keyEncipherment too for RSA, for TLS 1.2 RSA key exchange. */
	if (!ASN1_BIT_STRING_set_bit(ku, 0, 1) ||
	    (EVP_PKEY_is_a(key, "RSA") && !ASN1_BIT_STRING_set_bit(ku, 2, 1)))
		return false;
	if (!sk_ASN1_OBJECT_push(eku, OBJ_nid2obj(NID_server_auth)) ||
	    (client && !sk_ASN1_OBJECT_push(eku, OBJ_nid2obj(NID_client_auth))))
		return false;
	/* RFC 5280's method 1: the SHA-1 of the subjectPublicKey bits. */
	if (!X509_pubkey_digest(x, EVP_sha1(), digest, &len) ||
	    !ASN1_OCTET_STRING_set(skid, digest, (int)len))
		return false;
	return X509_add1_ext_i2d(x, NID_basic_constraints, bc, 1, X509V3_ADD_DEFAULT) == 1 &&
	       X509_add1_ext_i2d(x, NID_key_usage, ku, 1, X509V3_ADD_DEFAULT) == 1 &&
	       X509_add1_ext_i2d(x, NID_ext_key_usage, eku, 0, X509V3_ADD_DEFAULT) == 1 &&
	       X509_add1_ext_i2d(x, NID_subject_key_identifier, skid, 0, X509V3_ADD_DEFAULT) == 1 &&
	       X509_add1_ext_i2d(x, NID_subject_alt_name, sans, 0, X509V3_ADD_DEFAULT) == 1;
}

/* SHA-256, or none for the key types that sign the message itself (Ed25519, Ed448). */
static const EVP_MD *sign_digest(EVP_PKEY *key)
{
	int nid;

	if (EVP_PKEY_get_default_digest_nid(key, &nid) == 2 && nid == NID_undef)
		return NULL;
	return EVP_sha256();
}

static void format_time(const ASN1_TIME *t, char *out, size_t size)
{
	struct tm tm;

	if (!ASN1_TIME_to_tm(t, &tm) || !strftime(out, size, "%Y-%m-%d %H:%M:%S UTC", &tm))
		snprintf(out, size, "an unreadable time");
}

/* The key tls_make_key made, kept for the tls_make_self_signed call that follows with
 * its PEM, which then need not decode it again (OpenSSL 3's decoders cost about half a
 * millisecond, a twentieth of a first boot). Used once, then forgotten. */
static struct {
	EVP_PKEY *key;
	char *pem;
} made;

static void made_forget(void)
{
	EVP_PKEY_free(made.key);
	erase_and_freep(&made.pem);
	made.key = NULL;
	made.pem = NULL;
}

static void __attribute__((destructor)) made_at_exit(void)
{
	made_forget();
}

/* The key of key_pem: the one just made, or decoded. */
static int key_for(const char *key_pem, EVP_PKEY **ret, char **ret_cause)
{
	int r = 0;

	if (made.pem && strcmp(made.pem, key_pem) == 0 && EVP_PKEY_up_ref(made.key))
		*ret = made.key;
	else
		r = parse_key(key_pem, ret, ret_cause);
	made_forget();
	return r;
}

int tls_make_key(char **ret, char **ret_cause)
{
	_cleanup_(EVP_PKEY_freep) EVP_PKEY *key = NULL;
	_cleanup_(BIO_free_allp) BIO *out = NULL;
	int r;

	ERR_clear_error();
	key = EVP_EC_gen("P-256");
	if (!key)
		return fail(ret_cause, -EIO, "cannot make an ECDSA P-256 key");
	/* A secure-memory BIO clears its buffer when it grows and when it is freed. */
	out = BIO_new(BIO_s_secmem());
	if (!out || !PEM_write_bio_PrivateKey(out, key, NULL, NULL, 0, NULL, NULL))
		return fail(ret_cause, -EIO, "cannot write the key as PEM");
	r = bio_to_string(out, ret);
	if (r < 0)
		return fail(ret_cause, r, "cannot write the key as PEM");
	made_forget();
	made.pem = strdup(*ret);
	if (made.pem)
		made.key = TAKE_PTR(key);
	return 0;
}

/* Sign a certificate for key with subject CN = cn and these SANs, as tls.h says. */
static int make_certificate(EVP_PKEY *key, const char *cn, GENERAL_NAMES *sans, bool client,
			    char **ret, char **ret_cause)
{
	_cleanup_(X509_freep) X509 *x = NULL;
	_cleanup_(BIO_free_allp) BIO *out = NULL;
	int r;

	x = X509_new();
	if (!x || !X509_set_version(x, X509_VERSION_3) || !set_random_serial(x) ||
	    !X509_gmtime_adj(X509_getm_notBefore(x), -60 * 60) ||
	    !X509_time_adj_ex(X509_getm_notAfter(x), TLS_SELF_SIGNED_DAYS, 0, NULL) ||
	    !set_subject(x, cn) || !X509_set_pubkey(x, key))
		return fail(ret_cause, -EIO, "cannot make the certificate");
	if (!add_extensions(x, key, sans, client))
		return fail(ret_cause, -EIO, "cannot add the certificate's extensions");
	if (!X509_sign(x, key, sign_digest(key)))
		return fail(ret_cause, -EIO, "cannot sign the certificate");

	out = BIO_new(BIO_s_mem());
	if (!out || !PEM_write_bio_X509(out, x))
		return fail(ret_cause, -EIO, "cannot write the certificate as PEM");
	r = bio_to_string(out, ret);
	if (r < 0)
		return fail(ret_cause, r, "cannot write the certificate as PEM");
	return 0;
}

int tls_make_self_signed(const char *key_pem, const struct metadata *md, char **ret,
			 char **ret_cause)
{
	_cleanup_(EVP_PKEY_freep) EVP_PKEY *key = NULL;
	_cleanup_(GENERAL_NAMES_freep) GENERAL_NAMES *sans = NULL;
	int r;

	ERR_clear_error();
	r = key_for(key_pem, &key, ret_cause);
	if (r < 0)
		return r == -ENOMEM ? r : -EINVAL;
	r = sans_for(md, &sans);
	if (r == -EINVAL)
		return fail(ret_cause, -EIO, "metadata: an address that is not an IP address");
	if (r < 0)
		return fail(ret_cause, r, "subjectAltName: out of memory");
	return make_certificate(key, md->hostname, sans, false, ret, ret_cause);
}

int tls_make_group_certificate(const char *key_pem, const char *name, char **ret, char **ret_cause)
{
	_cleanup_(EVP_PKEY_freep) EVP_PKEY *key = NULL;
	_cleanup_(GENERAL_NAMES_freep) GENERAL_NAMES *sans = NULL;
	int r;

	ERR_clear_error();
	if (!dns_name_ok(name) || strlen(name) > TLS_CN_MAX)
		return fail(ret_cause, -EINVAL, "a group's name must be a DNS name of at most %d characters",
			    TLS_CN_MAX);
	r = key_for(key_pem, &key, ret_cause);
	if (r < 0)
		return r == -ENOMEM ? r : -EINVAL;
	sans = sk_GENERAL_NAME_new_null();
	if (!sans || san_add(sans, GEN_DNS, name, (int)strlen(name)) < 0)
		return fail(ret_cause, -ENOMEM, "subjectAltName: out of memory");
	return make_certificate(key, name, sans, true, ret, ret_cause);
}

int tls_check_pair(const char *cert_pem, const char *key_pem, char **ret_cause)
{
	_cleanup_(x509_stack_freep) STACK_OF(X509) *certs = NULL;
	_cleanup_(EVP_PKEY_freep) EVP_PKEY *key = NULL;
	char when[64];
	X509 *leaf;
	int r, bits, ca;

	ERR_clear_error();
	r = parse_certs(cert_pem, &certs, ret_cause);
	if (r < 0)
		return r == -ENOMEM ? r : -EBADMSG;
	r = parse_key(key_pem, &key, ret_cause);
	if (r < 0)
		return r == -ENOMEM ? r : -EBADMSG;
	leaf = sk_X509_value(certs, 0);

	if (X509_check_private_key(leaf, key) != 1)
		return fail(ret_cause, -EBADMSG, "key: does not belong to the %scertificate",
			    sk_X509_num(certs) > 1 ? "first (the server's) " : "");
	bits = EVP_PKEY_get_security_bits(key);
	if (bits < TLS_MIN_SECURITY_BITS)
		return fail(ret_cause, -EBADMSG,
			    "key: too weak (%d-bit security; at least RSA 2048 or ECDSA P-256)",
			    bits);
	if (X509_cmp_current_time(X509_get0_notBefore(leaf)) != -1) {
		format_time(X509_get0_notBefore(leaf), when, sizeof(when));
		return fail(ret_cause, -EBADMSG, "certificate: not valid before %s", when);
	}
	if (X509_cmp_current_time(X509_get0_notAfter(leaf)) != 1) {
		format_time(X509_get0_notAfter(leaf), when, sizeof(when));
		return fail(ret_cause, -EBADMSG, "certificate: expired on %s", when);
	}
	if (X509_get_extension_flags(leaf) & EXFLAG_INVALID)
		return fail(ret_cause, -EBADMSG, "certificate: has malformed extensions");
	/* 3 is a self-signed X.509 v1 certificate, which only might be a CA. */
	ca = X509_check_ca(leaf);
	if (ca != 0 && ca != 3)
		return fail(ret_cause, -EBADMSG,
			    "certificate: is a CA certificate, not a server's%s",
			    sk_X509_num(certs) > 1 ? " (the server's must come first)" : "");
	if (X509_check_purpose(leaf, X509_PURPOSE_SSL_SERVER, 0) != 1)
		return fail(ret_cause, -EBADMSG,
			    "certificate: its keyUsage or extendedKeyUsage rule out a TLS server");
	ERR_clear_error();
	return 0;
}

bool tls_cert_matches(const char *cert_pem, const struct metadata *md)
{
	_cleanup_(X509_freep) X509 *leaf = NULL;
	_cleanup_(GENERAL_NAMES_freep) GENERAL_NAMES *have = NULL, *want = NULL;
	bool all = true;
	int i, j;

	ERR_clear_error();
	if (!md || parse_leaf(cert_pem, &leaf, NULL) < 0 || sans_for(md, &want) < 0) {
		ERR_clear_error();
		return false;
	}
	have = X509_get_ext_d2i(leaf, NID_subject_alt_name, NULL, NULL);
	for (i = 0; all && i < sk_GENERAL_NAME_num(want); i++) {
		bool found = false;

		for (j = 0; !found && have && j < sk_GENERAL_NAME_num(have); j++)
			found = GENERAL_NAME_cmp(sk_GENERAL_NAME_value(have, j),
						 sk_GENERAL_NAME_value(want, i)) == 0;
		all = found;
	}
	ERR_clear_error();
	return all;
}

int tls_fingerprint(const char *cert_pem, char **ret, char **ret_cause)
{
	static const char hex[] = "0123456789ABCDEF";
	_cleanup_(X509_freep) X509 *leaf = NULL;
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned len, i;
	char *s;
	int r;

	ERR_clear_error();
	r = parse_leaf(cert_pem, &leaf, ret_cause);
	if (r < 0)
		return r;
	if (!X509_digest(leaf, EVP_sha256(), digest, &len) || len == 0)
		return fail(ret_cause, -EIO, "cannot compute the certificate's fingerprint");
	s = malloc(3 * (size_t)len);
	if (!s)
		return fail(ret_cause, -ENOMEM, "out of memory");
	for (i = 0; i < len; i++) {
		s[3 * i] = hex[digest[i] >> 4];
		s[3 * i + 1] = hex[digest[i] & 0xf];
		s[3 * i + 2] = i + 1 < len ? ':' : '\0';
	}
	*ret = s;
	return 0;
}

int tls_check_config(const struct config *c, char **ret_cause)
{
	_cleanup_free_ char *cause = NULL;
	int r;

	if (!c->tls_certificate || !c->tls_key)
		return 0;
	r = tls_check_pair(c->tls_certificate, c->tls_key, &cause);
	if (r < 0 && ret_cause &&
	    asprintf(ret_cause, "line %u: [tls] %s", c->line[CONFIG_TLS_CERTIFICATE],
		     cause ? cause : "not a usable certificate and key") < 0)
		*ret_cause = NULL;
	return r;
}
