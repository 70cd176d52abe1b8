/* Error strings, version and the public free function of libmandate. */
#include <stdlib.h>

#include <mandate/common.h>

#include "alloc_int.h"

static const char *const errstr[MDT_E_COUNT_] = {
	[MDT_OK] = "success",
	[MDT_ENOMEM] = "out of memory",
	[MDT_EINVAL] = "invalid argument",
	[MDT_EPARSE] = "malformed input",
	[MDT_ETOOBIG] = "input exceeds a size or depth bound",
	[MDT_EDECODE] = "malformed or non-canonical encoding",
	[MDT_ESIG] = "signature does not verify",
	[MDT_EEXPIRED] = "expired",
	[MDT_EDEPTH] = "delegation depth exhausted",
	[MDT_ESCOPE] = "outside the authorized scope",
	[MDT_EHOLDER] = "caller is not the token holder",
	[MDT_ESEALED] = "token is sealed",
	[MDT_EVERSION] = "unsupported format version",
	[MDT_EKEY] = "unknown or unusable key",
	[MDT_EPATIENT] = "patient mismatch",
	[MDT_EAUDIENCE] = "audience mismatch",
	[MDT_EREVOKED] = "revoked",
	[MDT_EDENIED] = "denied by policy",
	[MDT_ESTEPUP] = "step-up approval required",
	[MDT_EIO] = "input/output error",
	[MDT_ESTORE] = "store error",
	[MDT_ECRYPTO] = "cryptographic failure",
	[MDT_EPROTO] = "protocol error",
	[MDT_EAUTH] = "authentication failed",
	[MDT_ETIMEDOUT] = "timed out",
	[MDT_ECLOSED] = "closed",
	[MDT_ENOTFOUND] = "not found",
	[MDT_EEXIST] = "already exists",
	[MDT_EBUSY] = "busy or limit reached",
	[MDT_EPOLICY] = "policy evaluation error",
	[MDT_ETRANSPORT] = "transport failure",
	[MDT_ECHAIN] = "token chain inconsistent",
	[MDT_EFANOUT] = "delegation fan-out limit reached",
	[MDT_ECYCLE] = "cycle detected",
	[MDT_EAUDIT] = "audit chain verification failed",
	[MDT_ECONFIG] = "invalid configuration",
	[MDT_EUNSUPPORTED] = "not supported",
};

const char *
mdt_strerror(int status)
{
	int code = status < 0 ? -status : status;

	if (code >= MDT_E_COUNT_ || errstr[code] == NULL)
		return "unknown error";
	return errstr[code];
}

const char *
mdt_version(void)
{
	return MDT_VERSION_STRING;
}

void
mdt_free(void *p)
{
	mdt__free(p);
}
