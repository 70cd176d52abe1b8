/*
 * The SPIFFE rules of one X.509 certificate (leaf or signing), the
 * signature algorithm fixed by a key's type, and bounded reads of PEM
 * files.  Path building and signatures are in svid_verify.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/x509v3.h>
#include <sodium.h>

#include "alloc_int.h"
#include "parse_err_int.h"
#include "svid_int.h"

static int
one_uri(const GENERAL_NAMES *gens, const char *what, const ASN1_IA5STRING
    **uri, int *count, char *err, size_t errlen)
{
	*count = 0;
	for (int i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		if (g->type != GEN_URI)
			continue;
		if (++*count > 1)
			return mdt__errmsg(-MDT_EAUTH, err, errlen, "%s: more than "
			    "one URI subjectAltName", what);
		*uri = g->d.uniformResourceIdentifier;
	}
	return 0;
}

int
mdt__svid_uri_id(X509 *x, const char *what, mdt_spiffe_id *out, int *count,
    char *err, size_t errlen)
{
	const ASN1_IA5STRING *uri = NULL;
	GENERAL_NAMES *gens;
	char msg[MDT_ERRMSG_MAX];
	int crit = -1, rc;

	*count = 0;
	gens = X509_get_ext_d2i(x, NID_subject_alt_name, &crit, NULL);
	if (gens == NULL && crit == -2)
		return mdt__errmsg(-MDT_EAUTH, err, errlen, "%s: more than one "
		    "subjectAltName extension", what);
	if (gens == NULL && crit != -1)
		return mdt__errmsg(-MDT_EDECODE, err, errlen, "%s: malformed "
		    "subjectAltName extension", what);
	if (gens == NULL)
		return 0;
	rc = one_uri(gens, what, &uri, count, err, errlen);
	if (rc == 0 && *count == 1 && mdt_spiffe_parse((const char *)
	    ASN1_STRING_get0_data(uri), (size_t)ASN1_STRING_length(uri), out,
	    msg, sizeof(msg)) != 0)
		rc = mdt__errmsg(-MDT_EPARSE, err, errlen, "%s: URI "
		    "subjectAltName is not a SPIFFE id: %s", what, msg);
	GENERAL_NAMES_free(gens);
	return rc;
}

/* keyUsage present and marked critical. */
static int
ku_critical(X509 *x)
{
	int at = X509_get_ext_by_NID(x, NID_key_usage, -1);

	return at >= 0 && X509_EXTENSION_get_critical(X509_get_ext(x, at)) == 1;
}

static int
check_flags(X509 *x, const char *what, char *err, size_t errlen)
{
	uint32_t f = X509_get_extension_flags(x);

	if ((f & EXFLAG_INVALID) != 0)
		return mdt__errmsg(-MDT_EAUTH, err, errlen, "%s: invalid or "
		    "duplicated extensions", what);
	if ((f & EXFLAG_KUSAGE) == 0)
		return mdt__errmsg(-MDT_EAUTH, err, errlen, "%s: no keyUsage "
		    "extension", what);
	if (!ku_critical(x))
		return mdt__errmsg(-MDT_EAUTH, err, errlen, "%s: keyUsage is "
		    "not marked critical", what);
	return 0;
}

int
mdt__svid_check_leaf(X509 *x, mdt_spiffe_id *out, char *err, size_t errlen)
{
	const char *what = "certificate 0 (leaf)";
	mdt_spiffe_id id;
	uint32_t ku;
	int n, rc;

	if ((rc = check_flags(x, what, err, errlen)) != 0)
		return rc;
	ku = X509_get_key_usage(x);
	if ((ku & KU_DIGITAL_SIGNATURE) == 0)
		return mdt__errmsg(-MDT_EAUTH, err, errlen, "%s: keyUsage "
		    "lacks digitalSignature", what);
	if ((ku & (KU_KEY_CERT_SIGN | KU_CRL_SIGN)) != 0)
		return mdt__errmsg(-MDT_EAUTH, err, errlen, "%s: keyUsage sets "
		    "keyCertSign or cRLSign", what);
	/* X509_check_ca alone says 0 for cA true without keyCertSign */
	if ((X509_get_extension_flags(x) & EXFLAG_CA) != 0 ||
	    X509_check_ca(x) != 0)
		return mdt__errmsg(-MDT_EAUTH, err, errlen, "%s: is a CA "
		    "(basicConstraints cA true)", what);
	if ((X509_get_extension_flags(x) & EXFLAG_XKUSAGE) != 0 &&
	    (X509_get_extended_key_usage(x) & XKU_SSL_CLIENT) == 0)
		return mdt__errmsg(-MDT_EAUTH, err, errlen, "%s: "
		    "extendedKeyUsage lacks clientAuth", what);
	if ((rc = mdt__svid_uri_id(x, what, &id, &n, err, errlen)) != 0)
		return rc;
	if (n != 1)
		return mdt__errmsg(-MDT_EAUTH, err, errlen, "%s: no URI "
		    "subjectAltName (SPIFFE id)", what);
	if (id.path_len == 0)
		return mdt__errmsg(-MDT_EAUTH, err, errlen, "%s: SPIFFE id %s "
		    "has no path (a trust domain cannot authenticate)", what,
		    id.id);
	*out = id;
	return 0;
}

int
mdt__svid_check_ca(X509 *x, const char *what, const char *td, char *err,
    size_t errlen)
{
	mdt_spiffe_id id;
	int n, rc;

	if ((rc = check_flags(x, what, err, errlen)) != 0)
		return rc;
	if ((X509_get_extension_flags(x) & EXFLAG_CA) == 0)
		return mdt__errmsg(-MDT_EAUTH, err, errlen, "%s: not a CA "
		    "(basicConstraints cA false or absent)", what);
	if ((X509_get_key_usage(x) & KU_KEY_CERT_SIGN) == 0)
		return mdt__errmsg(-MDT_EAUTH, err, errlen, "%s: keyUsage "
		    "lacks keyCertSign", what);
	if ((rc = mdt__svid_uri_id(x, what, &id, &n, err, errlen)) != 0)
		return rc;
	if (n == 1 && id.path_len != 0)
		return mdt__errmsg(-MDT_EAUTH, err, errlen, "%s: signing "
		    "certificate with a SPIFFE id path (%s)", what, id.id);
	if (n == 1 && td != NULL && !mdt_spiffe_in_trust_domain(&id, td,
	    strlen(td)))
		return mdt__errmsg(-MDT_EAUTH, err, errlen, "%s: SPIFFE id %s "
		    "is not trust domain %s", what, id.id, td);
	return 0;
}

typedef struct key_alg {
	int type;           /* EVP_PKEY_* */
	const char *group;  /* EC curve, or NULL */
	const char *md;     /* digest, NULL for Ed25519 */
} key_alg;

static const key_alg key_algs[] = {
	{EVP_PKEY_EC, "prime256v1", "SHA256"},
	{EVP_PKEY_EC, "secp384r1", "SHA384"},
	{EVP_PKEY_ED25519, NULL, NULL},
};

int
mdt__svid_key_digest(EVP_PKEY *key, const char **md, char *err,
    size_t errlen)
{
	char group[64] = "";
	size_t glen = 0;
	int type = EVP_PKEY_get_base_id(key);

	if (type == EVP_PKEY_EC && EVP_PKEY_get_group_name(key, group,
	    sizeof(group), &glen) != 1)
		group[0] = 0;
	for (size_t i = 0; i < sizeof(key_algs) / sizeof(key_algs[0]); i++)
		if (key_algs[i].type == type && (key_algs[i].group == NULL ||
		    strcmp(key_algs[i].group, group) == 0)) {
			*md = key_algs[i].md;
			return 0;
		}
	return mdt__errmsg(-MDT_EUNSUPPORTED, err, errlen, "key type %s%s%s "
	    "is not supported (ECDSA P-256, P-384 or Ed25519)",
	    OBJ_nid2sn(type), group[0] ? " " : "", group);
}

static int
read_all(int fd, char *buf, size_t cap, size_t *len)
{
	size_t got = 0;

	while (got < cap) {
		ssize_t r = read(fd, buf + got, cap - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	*len = got;
	return 0;
}

int
mdt__svid_read_file(const char *path, int secret, char **out, size_t *len,
    char *err, size_t errlen)
{
	struct stat st;
	char *buf = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc = 0;

	if (fd < 0)
		return mdt__errmsg(errno == ENOENT ? -MDT_ENOTFOUND : -MDT_EIO,
		    err, errlen, "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		rc = mdt__errmsg(-MDT_EIO, err, errlen, "%s: not a regular "
		    "file", path);
	else if (secret && (st.st_mode & 077) != 0)
		rc = mdt__errmsg(-MDT_EKEY, err, errlen, "%s: private key open "
		    "to group or others (mode %04o; use 0600)", path,
		    (unsigned)(st.st_mode & 0777));
	else if (st.st_size > (off_t)MDT_SVID_PEM_MAX)
		rc = mdt__errmsg(-MDT_ETOOBIG, err, errlen, "%s: larger than "
		    "%u bytes", path, MDT_SVID_PEM_MAX);
	else if ((buf = mdt__malloc((size_t)st.st_size + 1)) == NULL)
		rc = -MDT_ENOMEM;
	else if (read_all(fd, buf, (size_t)st.st_size, len) != 0)
		rc = mdt__errmsg(-MDT_EIO, err, errlen, "%s: %s", path,
		    strerror(errno));
	close(fd);
	if (rc != 0) {
		if (buf != NULL) /* may hold part of a secret */
			sodium_memzero(buf, (size_t)st.st_size + 1);
		mdt__free(buf);
		return rc;
	}
	buf[*len] = 0;
	*out = buf;
	return 0;
}
