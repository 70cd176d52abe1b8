/*
 * Identity-provider keys (include/mandate/idp.h): generation, PEM in and
 * out, key files.  The algorithm of a key follows from the key itself, so
 * a token can never choose it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <sodium.h>

#include "alloc_int.h"
#include "jwt_int.h"
#include "parse_err_int.h"

typedef struct alg_name {
	mdt_idp_alg alg;
	const char *name;
} alg_name;

static const alg_name alg_names[] = {
	{MDT_IDP_ES256, "ES256"},
	{MDT_IDP_RS256, "RS256"},
	{MDT_IDP_EDDSA, "EdDSA"},
};

const char *
mdt_idp_alg_name(mdt_idp_alg alg)
{
	for (size_t i = 0; i < sizeof(alg_names) / sizeof(alg_names[0]); i++)
		if (alg_names[i].alg == alg)
			return alg_names[i].name;
	return NULL;
}

int
mdt_idp_alg_parse(const char *name, mdt_idp_alg *out)
{
	if (name == NULL || out == NULL)
		return -MDT_EINVAL;
	for (size_t i = 0; i < sizeof(alg_names) / sizeof(alg_names[0]); i++)
		if (strcmp(alg_names[i].name, name) == 0) {
			*out = alg_names[i].alg;
			return 0;
		}
	return -MDT_EINVAL;
}

/* The JOSE algorithm of an OpenSSL key, or a refusal saying why. */
static int
classify(EVP_PKEY *pkey, mdt_idp_alg *alg, char *err, size_t errlen)
{
	char group[64];
	size_t glen = 0;
	int bits;

	switch (EVP_PKEY_get_base_id(pkey)) {
	case EVP_PKEY_EC:
		if (EVP_PKEY_get_group_name(pkey, group, sizeof(group),
		    &glen) != 1 || strcmp(group, "prime256v1") != 0)
			return mdt__errmsg(-MDT_EKEY, err, errlen,
			    "EC key is not on P-256 (ES256 needs P-256)");
		*alg = MDT_IDP_ES256;
		return 0;
	case EVP_PKEY_RSA:
		bits = EVP_PKEY_get_bits(pkey);
		if (bits < MDT_IDP_RSA_MIN_BITS || bits > MDT_IDP_RSA_MAX_BITS)
			return mdt__errmsg(-MDT_EKEY, err, errlen,
			    "RSA key of %d bits (RS256 needs %d..%d)", bits,
			    MDT_IDP_RSA_MIN_BITS, MDT_IDP_RSA_MAX_BITS);
		*alg = MDT_IDP_RS256;
		return 0;
	case EVP_PKEY_ED25519:
		*alg = MDT_IDP_EDDSA;
		return 0;
	default:
		return mdt__errmsg(-MDT_EKEY, err, errlen,
		    "unsupported key type (P-256, RSA or Ed25519)");
	}
}

int
mdt__jwt_key_wrap(EVP_PKEY *pkey, int priv, mdt_idp_key **out, char *err,
    size_t errlen)
{
	mdt_idp_key *k;
	mdt_idp_alg alg = (mdt_idp_alg)0;
	int rc;

	if ((rc = classify(pkey, &alg, err, errlen)) != 0) {
		EVP_PKEY_free(pkey);
		return rc;
	}
	if ((k = mdt__calloc(1, sizeof(*k))) == NULL) {
		EVP_PKEY_free(pkey);
		return mdt__errmsg(-MDT_ENOMEM, err, errlen, "out of memory");
	}
	k->pkey = pkey;
	k->alg = alg;
	k->priv = priv;
	*out = k;
	return 0;
}

int
mdt_idp_key_generate(mdt_idp_alg alg, mdt_idp_key **out)
{
	EVP_PKEY *pkey = NULL;

	if (out == NULL)
		return -MDT_EINVAL;
	switch (alg) {
	case MDT_IDP_ES256:
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		break;
	case MDT_IDP_RS256:
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)3072);
		break;
	case MDT_IDP_EDDSA:
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
		break;
	default:
		return -MDT_EINVAL;
	}
	if (pkey == NULL)
		return -MDT_ECRYPTO;
	return mdt__jwt_key_wrap(pkey, 1, out, NULL, 0);
}

/* Never prompt for a passphrase: encrypted keys are refused. */
static int
no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

/* The marker line stands first, before any PEM block. */
static int
has_dev_marker(const char *pem, size_t len)
{
	size_t n = strlen(MDT_IDP_DEV_MARKER);

	return len > n && memcmp(pem, MDT_IDP_DEV_MARKER, n) == 0 &&
	    pem[n] == '\n';
}

int
mdt_idp_key_from_pem(const char *pem, size_t len, int want_private,
    mdt_idp_key **out, char *err, size_t errlen)
{
	EVP_PKEY *pkey;
	BIO *bio;
	int rc;

	if (pem == NULL || out == NULL)
		return mdt__errmsg(-MDT_EINVAL, err, errlen, "no PEM text");
	if (len > MDT_IDP_PEM_MAX)
		return mdt__errmsg(-MDT_ETOOBIG, err, errlen,
		    "PEM text longer than %d bytes", MDT_IDP_PEM_MAX);
	if ((bio = BIO_new_mem_buf(pem, (int)len)) == NULL)
		return mdt__errmsg(-MDT_ENOMEM, err, errlen, "out of memory");
	pkey = want_private ?
	    PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL) :
	    PEM_read_bio_PUBKEY(bio, NULL, no_passphrase, NULL);
	BIO_free(bio);
	ERR_clear_error();
	if (pkey == NULL)
		return mdt__errmsg(-MDT_EKEY, err, errlen, "no unencrypted %s "
		    "in the PEM text", want_private ? "PRIVATE KEY" :
		    "PUBLIC KEY");
	if ((rc = mdt__jwt_key_wrap(pkey, want_private, out, err, errlen)) == 0)
		(*out)->dev = has_dev_marker(pem, len);
	return rc;
}

/* Reads a whole key file (at most MDT_IDP_PEM_MAX bytes). */
static int
read_key_file(const char *path, int private_file, char *buf, size_t *len,
    char *err, size_t errlen)
{
	struct stat st;
	ssize_t got;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return mdt__errmsg(errno == ENOENT ? -MDT_ENOTFOUND : -MDT_EIO,
		    err, errlen, "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return mdt__errmsg(-MDT_EIO, err, errlen, "%s: not a regular "
		    "file", path);
	}
	if (private_file && (st.st_mode & 077) != 0) {
		close(fd);
		return mdt__errmsg(-MDT_EKEY, err, errlen, "%s: private key "
		    "readable or writable by others (mode %04o; use 0600)",
		    path, (unsigned)(st.st_mode & 0777));
	}
	got = read(fd, buf, MDT_IDP_PEM_MAX + 1);
	close(fd);
	if (got < 0)
		return mdt__errmsg(-MDT_EIO, err, errlen, "%s: %s", path,
		    strerror(errno));
	if ((size_t)got > MDT_IDP_PEM_MAX)
		return mdt__errmsg(-MDT_ETOOBIG, err, errlen, "%s: larger than "
		    "%d bytes", path, MDT_IDP_PEM_MAX);
	*len = (size_t)got;
	return 0;
}

static int
load_file(const char *path, int priv, mdt_idp_key **out, char *err,
    size_t errlen)
{
	char *buf;
	size_t len = 0;
	int rc;

	if (path == NULL || out == NULL)
		return mdt__errmsg(-MDT_EINVAL, err, errlen, "no path");
	if ((buf = mdt__malloc(MDT_IDP_PEM_MAX + 1)) == NULL)
		return mdt__errmsg(-MDT_ENOMEM, err, errlen, "out of memory");
	rc = read_key_file(path, priv, buf, &len, err, errlen);
	if (rc == 0 && (rc = mdt_idp_key_from_pem(buf, len, priv, out, err,
	    errlen)) != 0 && err != NULL) {
		char why[MDT_ERRMSG_MAX];
		snprintf(why, sizeof(why), "%s", err);
		mdt__errmsg(rc, err, errlen, "%s: %s", path, why);
	}
	sodium_memzero(buf, MDT_IDP_PEM_MAX + 1);
	mdt__free(buf);
	return rc;
}

int
mdt_idp_key_load_public(const char *path, mdt_idp_key **out, char *err,
    size_t errlen)
{
	return load_file(path, 0, out, err, errlen);
}

int
mdt_idp_key_load_private(const char *path, mdt_idp_key **out, char *err,
    size_t errlen)
{
	return load_file(path, 1, out, err, errlen);
}

/* PEM of the private (priv) or public half into a memory BIO. */
static BIO *
pem_bio(const mdt_idp_key *key, int priv, int marked)
{
	BIO *bio = BIO_new(BIO_s_mem());
	int ok;

	if (bio == NULL)
		return NULL;
	if (marked && BIO_puts(bio, MDT_IDP_DEV_MARKER "\n") <= 0) {
		BIO_free(bio);
		return NULL;
	}
	ok = priv ? PEM_write_bio_PrivateKey(bio, key->pkey, NULL, NULL, 0,
	    NULL, NULL) : PEM_write_bio_PUBKEY(bio, key->pkey);
	if (ok != 1) {
		BIO_free(bio);
		return NULL;
	}
	return bio;
}

int
mdt_idp_key_public_pem(const mdt_idp_key *key, char **out)
{
	BIO *bio;
	char *data, *s;
	long n;

	if (key == NULL || out == NULL)
		return -MDT_EINVAL;
	if ((bio = pem_bio(key, 0, 0)) == NULL)
		return -MDT_ECRYPTO;
	n = BIO_get_mem_data(bio, &data);
	s = n >= 0 ? mdt__strndup(data, (size_t)n) : NULL;
	BIO_free(bio);
	if (s == NULL)
		return -MDT_ENOMEM;
	*out = s;
	return 0;
}

static int
write_new(const char *path, BIO *bio, mode_t mode, char *err, size_t errlen)
{
	char *data;
	long n = BIO_get_mem_data(bio, &data);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);

	if (fd < 0)
		return mdt__errmsg(errno == EEXIST ? -MDT_EEXIST : -MDT_EIO,
		    err, errlen, "%s: %s", path, strerror(errno));
	if (n < 0 || write(fd, data, (size_t)n) != (ssize_t)n ||
	    fsync(fd) != 0) {
		int e = errno;
		close(fd);
		unlink(path);
		return mdt__errmsg(-MDT_EIO, err, errlen, "%s: %s", path,
		    strerror(e));
	}
	if (close(fd) != 0) {
		unlink(path);
		return mdt__errmsg(-MDT_EIO, err, errlen, "%s: close failed",
		    path);
	}
	return 0;
}

/* Frees a BIO that may hold private key PEM, wiping it first. */
static void
bio_wipe_free(BIO *bio)
{
	char *data;
	long n;

	if (bio == NULL)
		return;
	n = BIO_get_mem_data(bio, &data);
	if (n > 0)
		sodium_memzero(data, (size_t)n);
	BIO_free(bio);
}

int
mdt_idp_key_save(const mdt_idp_key *key, const char *base, char *err,
    size_t errlen)
{
	char priv[4096], pub[4096];
	BIO *bpriv = NULL, *bpub = NULL;
	struct stat st;
	int rc;

	if (key == NULL || base == NULL || !key->priv)
		return mdt__errmsg(-MDT_EINVAL, err, errlen, "no private key");
	if ((size_t)snprintf(priv, sizeof(priv), "%s.pem", base) >=
	    sizeof(priv) || (size_t)snprintf(pub, sizeof(pub), "%s.pub.pem",
	    base) >= sizeof(pub))
		return mdt__errmsg(-MDT_EINVAL, err, errlen, "path too long");
	if (lstat(pub, &st) == 0)
		return mdt__errmsg(-MDT_EEXIST, err, errlen, "%s: already "
		    "exists", pub);
	if ((bpriv = pem_bio(key, 1, 1)) == NULL ||
	    (bpub = pem_bio(key, 0, 1)) == NULL) {
		rc = mdt__errmsg(-MDT_ECRYPTO, err, errlen, "PEM encoding "
		    "failed");
	} else if ((rc = write_new(priv, bpriv, 0600, err, errlen)) == 0 &&
	    (rc = write_new(pub, bpub, 0644, err, errlen)) != 0) {
		unlink(priv);
	}
	bio_wipe_free(bpriv);
	BIO_free(bpub);
	return rc;
}

mdt_idp_alg
mdt_idp_key_alg(const mdt_idp_key *key)
{
	return key == NULL ? (mdt_idp_alg)0 : key->alg;
}

int
mdt_idp_key_is_development(const mdt_idp_key *key)
{
	return key != NULL && key->dev;
}

int
mdt_idp_key_is_private(const mdt_idp_key *key)
{
	return key != NULL && key->priv;
}

void
mdt_idp_key_free(mdt_idp_key *key)
{
	if (key == NULL)
		return;
	EVP_PKEY_free(key->pkey);
	mdt__free(key);
}
