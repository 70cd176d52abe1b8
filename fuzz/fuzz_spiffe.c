/*
 * Fuzz harness for the SPIFFE ID parser: any input either parses into
 * spans that lie inside the id and re-validate, or is refused with a
 * message; validate and parse always agree.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <mandate/spiffe.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static mdt_spiffe_id id;
	char err[MDT_ERRMSG_MAX];
	const char *s = (const char *)data;
	int rp = mdt_spiffe_parse(s, size, &id, err, sizeof(err));
	int rv = mdt_spiffe_validate(s, size, NULL, 0);

	if (rp != rv)
		abort();
	if (rp != 0) {
		if (err[0] == '\0')
			abort();
		return 0;
	}
	if (id.len != size || memcmp(id.id, data, size) != 0 ||
	    id.td_off + id.td_len != id.path_off ||
	    id.path_off + id.path_len != id.len || id.td_len == 0)
		abort();
	if (mdt_spiffe_validate_trust_domain(id.id + id.td_off, id.td_len,
	    NULL, 0) != 0)
		abort();
	if (!mdt_spiffe_in_trust_domain(&id, id.id + id.td_off, id.td_len))
		abort();
	return 0;
}
