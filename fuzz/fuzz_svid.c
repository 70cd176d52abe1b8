/*
 * Fuzz harness for X.509-SVID verification: a presented chain and a
 * signature (the broker's untrusted `auth` input) checked against a fixed
 * trust bundle at a fixed time, and (first byte's high bit set) trust
 * bundle PEM text.  Input: one byte n (the chain length, n mod 10), then n
 * times a 2-byte big-endian length and that many DER bytes (cut short at
 * the end of the input), then the signature.  Invariants: a failure always
 * says why; a success names a SPIFFE id with a path in the bundle's trust
 * domain, and the unsigned verification agrees.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <mandate/svid.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TD "example.org"
#define NOW 1800000000 /* 2027-01-15, inside the seeds' validity */

/* The seeds' CA (fuzz/corpus/svid was made under it). */
static const char ca_pem[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBiDCCAS+gAwIBAgIUZtMgO/+xo9SV+qbwjYuIVvIgk5EwCgYIKoZIzj0EAwIw\n"
    "EjEQMA4GA1UEAwwHZnV6ei1jYTAeFw0yNjExMjkwNzU2NDBaFw0zNjExMjYwNzU2\n"
    "NDBaMBIxEDAOBgNVBAMMB2Z1enotY2EwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNC\n"
    "AARDK6O7xFTiY5Qk+XaQpmKXjCCt0I3/jNYv5CsanXjNr6Tj37p+xb7DPXCefFXI\n"
    "ggz34s1QszCdDZ5XqeOLDbQDo2MwYTAPBgNVHRMBAf8EBTADAQH/MA4GA1UdDwEB\n"
    "/wQEAwIBBjAdBgNVHQ4EFgQUfOOPEKVxpMEYQMoHsb8MpR3+Z3YwHwYDVR0RBBgw\n"
    "FoYUc3BpZmZlOi8vZXhhbXBsZS5vcmcwCgYIKoZIzj0EAwIDRwAwRAIgd2lGfiLH\n"
    "RRd6+6j9ZWN0B5J7yqOAo7pY92qzKtUjS7oCIA6LzYzLgIuPC7lO98JDTwLPgMj/\n"
    "4Z6l23W5RPCOUiaO\n"
    "-----END CERTIFICATE-----\n"
    ;

static const uint8_t msg[] = "mandate-auth-v1\0fuzz-challenge";

static mdt_svid_bundle *
bundle(void)
{
	static mdt_svid_bundle *b;

	if (b == NULL && mdt_svid_bundle_from_pem(ca_pem, sizeof(ca_pem) - 1,
	    TD, &b, NULL, 0) != 0)
		abort();
	return b;
}

static void
fuzz_bundle(const uint8_t *data, size_t size)
{
	mdt_svid_bundle *b = NULL;
	char err[MDT_ERRMSG_MAX] = "";

	if (mdt_svid_bundle_from_pem((const char *)data, size, TD, &b, err,
	    sizeof(err)) != 0) {
		if (err[0] == 0 || b != NULL)
			abort();
		return;
	}
	if (mdt_svid_bundle_count(b) == 0)
		abort();
	mdt_svid_bundle_free(b);
}

static void
check_ok(const mdt_svid_cert *chain, size_t n, const mdt_svid_info *info)
{
	mdt_svid_info again;

	if (info->id.path_len == 0 || !mdt_spiffe_in_trust_domain(&info->id,
	    TD, strlen(TD)) || info->not_after < NOW)
		abort();
	if (mdt_svid_verify(bundle(), chain, n, NOW, &again, NULL, 0) != 0 ||
	    strcmp(again.id.id, info->id.id) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	mdt_svid_cert chain[MDT_SVID_CHAIN_MAX + 1];
	static mdt_svid_info info;
	char err[MDT_ERRMSG_MAX] = "";
	size_t n, off = 1;

	if (size == 0)
		return 0;
	if (data[0] & 0x80) {
		fuzz_bundle(data + 1, size - 1);
		return 0;
	}
	n = data[0] % (MDT_SVID_CHAIN_MAX + 2);
	for (size_t i = 0; i < n; i++) {
		size_t len = 0;
		if (off + 2 <= size)
			len = (size_t)data[off] << 8 | data[off + 1];
		off = off + 2 <= size ? off + 2 : size;
		if (len > size - off)
			len = size - off;
		chain[i].der = data + off;
		chain[i].len = len;
		off += len;
	}
	if (mdt_svid_verify_signed(bundle(), chain, n, NOW, msg, sizeof(msg) -
	    1, data + off, size - off, &info, err, sizeof(err)) == 0)
		check_ok(chain, n, &info);
	else if (err[0] == 0)
		abort();
	return 0;
}
