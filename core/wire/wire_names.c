/* Wire op names, status code names, the request id rule and the
 * authentication message. */
#include <string.h>

#include <mandate/wire.h>

#include "wire_int.h"

static const char *const op_names[MDT_OP_COUNT_] = {
	[MDT_OP_HELLO] = "hello",
	[MDT_OP_AUTH] = "auth",
	[MDT_OP_OPEN] = "open",
	[MDT_OP_DISPATCH] = "dispatch",
	[MDT_OP_DELEGATE] = "delegate",
	[MDT_OP_NEXT] = "next",
	[MDT_OP_AUTHORIZE] = "authorize",
	[MDT_OP_APPROVE] = "approve",
	[MDT_OP_REJECT] = "reject",
	[MDT_OP_COMPLETE] = "complete",
	[MDT_OP_CANCEL] = "cancel",
	[MDT_OP_RESULT] = "result",
	[MDT_OP_TREE] = "tree",
	[MDT_OP_ACK] = "ack",
	[MDT_OP_ABORT] = "abort",
	[MDT_OP_EVALUATE] = "evaluate",
	[MDT_OP_STATUS] = "status",
	[MDT_OP_ACCESS] = "access",
	[MDT_OP_REVIEW] = "review",
};

static const char *const code_names[MDT_E_COUNT_] = {
	[MDT_OK] = "OK",
	[MDT_ENOMEM] = "ENOMEM",
	[MDT_EINVAL] = "EINVAL",
	[MDT_EPARSE] = "EPARSE",
	[MDT_ETOOBIG] = "ETOOBIG",
	[MDT_EDECODE] = "EDECODE",
	[MDT_ESIG] = "ESIG",
	[MDT_EEXPIRED] = "EEXPIRED",
	[MDT_EDEPTH] = "EDEPTH",
	[MDT_ESCOPE] = "ESCOPE",
	[MDT_EHOLDER] = "EHOLDER",
	[MDT_ESEALED] = "ESEALED",
	[MDT_EVERSION] = "EVERSION",
	[MDT_EKEY] = "EKEY",
	[MDT_EPATIENT] = "EPATIENT",
	[MDT_EAUDIENCE] = "EAUDIENCE",
	[MDT_EREVOKED] = "EREVOKED",
	[MDT_EDENIED] = "EDENIED",
	[MDT_ESTEPUP] = "ESTEPUP",
	[MDT_EIO] = "EIO",
	[MDT_ESTORE] = "ESTORE",
	[MDT_ECRYPTO] = "ECRYPTO",
	[MDT_EPROTO] = "EPROTO",
	[MDT_EAUTH] = "EAUTH",
	[MDT_ETIMEDOUT] = "ETIMEDOUT",
	[MDT_ECLOSED] = "ECLOSED",
	[MDT_ENOTFOUND] = "ENOTFOUND",
	[MDT_EEXIST] = "EEXIST",
	[MDT_EBUSY] = "EBUSY",
	[MDT_EPOLICY] = "EPOLICY",
	[MDT_ETRANSPORT] = "ETRANSPORT",
	[MDT_ECHAIN] = "ECHAIN",
	[MDT_EFANOUT] = "EFANOUT",
	[MDT_ECYCLE] = "ECYCLE",
	[MDT_EAUDIT] = "EAUDIT",
	[MDT_ECONFIG] = "ECONFIG",
	[MDT_EUNSUPPORTED] = "EUNSUPPORTED",
};

const char *
mdt_wire_op_name(mdt_wire_op op)
{
	if ((int)op <= 0 || op >= MDT_OP_COUNT_)
		return NULL;
	return op_names[op];
}

mdt_wire_op
mdt_wire_op_parse(const char *name, size_t len)
{
	for (int i = 1; i < MDT_OP_COUNT_; i++)
		if (strlen(op_names[i]) == len &&
		    memcmp(op_names[i], name, len) == 0)
			return (mdt_wire_op)i;
	return MDT_OP_INVALID;
}

int
mdt__wire_id_ok(const char *s, size_t n)
{
	if (s == NULL || n == 0 || n > MDT_WIRE_ID_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x21 || s[i] > 0x7e || s[i] == '#')
			return 0;
	return 1;
}

const char *
mdt_wire_code_name(int status)
{
	int code = status < 0 ? -status : status;

	if (code >= MDT_E_COUNT_)
		return NULL;
	return code_names[code];
}

int
mdt_wire_code_parse(const char *name)
{
	for (int i = 0; i < MDT_E_COUNT_; i++)
		if (code_names[i] != NULL && strcmp(code_names[i], name) == 0)
			return -i;
	return -MDT_EPROTO;
}

int
mdt_wire_auth_message(const uint8_t *challenge, size_t challenge_len,
    uint8_t *out, size_t cap, size_t *outlen)
{
	size_t dlen = sizeof(MDT_WIRE_AUTH_DOMAIN); /* includes the 0x00 */

	if (challenge == NULL || out == NULL || outlen == NULL)
		return -MDT_EINVAL;
	if (challenge_len > MDT_WIRE_CHALLENGE_MAX ||
	    cap < dlen + challenge_len)
		return -MDT_ETOOBIG;
	memcpy(out, MDT_WIRE_AUTH_DOMAIN, dlen);
	memcpy(out + dlen, challenge, challenge_len);
	*outlen = dlen + challenge_len;
	return 0;
}
