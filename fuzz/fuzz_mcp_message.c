/*
 * Fuzz harness for mcp_msg_parse (every JSON-RPC message mandate-mcp
 * reads from its client or an upstream) and, for a tools/call, the tool
 * mapping applied to its arguments.  Checks, for every input:
 *   - the status is 0, MCP_PARSE_ERROR or MCP_INVALID_REQUEST; a refusal
 *     keeps no message (only, possibly, a string or integer id);
 *   - a parsed message is an object of its kind: a request or a
 *     notification has a method of 1 to 128 bytes and params that are an
 *     object or absent, a request and a response an id that is a string
 *     of at most 128 bytes or an integer (an error may have a null id);
 *   - parsing is deterministic;
 *   - the reference of a tools/call is a tool request that
 *     mdt_scope_request_parse reads back with the same tool name and at
 *     most MDT_SCOPE_PARAMS_MAX attributes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <mandate/scope.h>

#include "mcp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX (64u * 1024u)

static int
id_ok(const json_t *id, mcp_kind kind)
{
	if (kind == MCP_NOTIFICATION)
		return id == NULL;
	if (kind == MCP_ERROR && json_is_null(id))
		return 1;
	return json_is_integer(id) || (json_is_string(id) &&
	    json_string_length(id) <= MCP_ID_MAX);
}

static void
check_ref(mcp_msg *m)
{
	const char *name = json_string_value(json_object_get(m->params, "name"));
	json_t *args = json_object_get(m->params, "arguments");
	char ref[MDT_SCOPE_REF_MAX + 1], buf[MDT_SCOPE_REF_MAX + 64];
	mdt_scope_param params[MDT_SCOPE_PARAMS_MAX];
	mdt_scope_request req;

	if (name == NULL || mcp_tool_ref(name, args, ref, sizeof(ref)) != 0)
		return;
	if (mdt_scope_request_parse(ref, &req, buf, sizeof(buf), params,
	    MDT_SCOPE_PARAMS_MAX, NULL, 0) != 0 ||
	    req.context != MDT_SCOPE_TOOL || strcmp(req.type, name) != 0 ||
	    req.nparams > MDT_SCOPE_PARAMS_MAX)
		abort();
}

static void
check_msg(mcp_msg *m)
{
	if (!json_is_object(m->root) || !id_ok(m->id, m->kind))
		abort();
	switch (m->kind) {
	case MCP_REQUEST:
	case MCP_NOTIFICATION:
		if (m->method == NULL || strlen(m->method) == 0 ||
		    strlen(m->method) > MCP_METHOD_MAX ||
		    (m->params != NULL && !json_is_object(m->params)))
			abort();
		if (strcmp(m->method, "tools/call") == 0)
			check_ref(m);
		break;
	case MCP_RESULT:
		if (m->result == NULL || m->error != NULL)
			abort();
		break;
	case MCP_ERROR:
		if (m->error == NULL || m->result != NULL)
			abort();
		break;
	default:
		abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	mcp_msg a, b;
	char err[256];
	int ra, rb;

	if (size > MAX)
		return 0;
	ra = mcp_msg_parse((const char *)data, size, MAX, &a, err, sizeof(err));
	rb = mcp_msg_parse((const char *)data, size, MAX, &b, err, sizeof(err));
	if (ra != rb)
		abort();
	if (ra == 0) {
		check_msg(&a);
		if (a.kind != b.kind || !json_equal(a.root, b.root))
			abort();
	} else if ((ra != MCP_PARSE_ERROR && ra != MCP_INVALID_REQUEST) ||
	    a.root != NULL || a.method != NULL ||
	    (a.id != NULL && !json_is_integer(a.id) && !json_is_string(a.id))) {
		abort();
	}
	mcp_msg_clear(&a);
	mcp_msg_clear(&b);
	return 0;
}
