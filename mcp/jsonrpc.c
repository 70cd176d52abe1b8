/*
 * JSON-RPC 2.0 messages as MCP uses them: strict parsing of untrusted
 * bytes (bounded size and depth, no duplicate keys, no batches) into a
 * classified message, and builders for the answers.
 */
#include <stdio.h>
#include <string.h>

#include "mcp.h"

const char *const mcp_protocol_versions[] = {
	MCP_PROTOCOL_LATEST, "2025-06-18", "2025-03-26", "2024-11-05", NULL
};

static int
fail(int code, char *err, size_t errlen, const char *why)
{
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "%s", why);
	return code;
}

/* Nesting depth of the text, counted outside strings: jansson's own
 * limit is far above what a message needs, and recursion costs stack. */
static int
depth_ok(const char *buf, size_t len)
{
	size_t depth = 0;
	int in_str = 0;

	for (size_t i = 0; i < len; i++) {
		char c = buf[i];
		if (in_str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = 0;
		} else if (c == '"') {
			in_str = 1;
		} else if (c == '[' || c == '{') {
			if (++depth > MCP_DEPTH_MAX)
				return 0;
		} else if ((c == ']' || c == '}') && depth > 0) {
			depth--;
		}
	}
	return 1;
}

static int
id_ok(const json_t *id)
{
	if (json_is_integer(id))
		return 1;
	return json_is_string(id) && json_string_length(id) <= MCP_ID_MAX;
}

static int
classify_response(mcp_msg *m, char *err, size_t errlen)
{
	json_t *res = json_object_get(m->root, "result");
	json_t *e = json_object_get(m->root, "error");

	if ((res == NULL) == (e == NULL))
		return fail(MCP_INVALID_REQUEST, err, errlen, "a response has "
		    "exactly one of result and error");
	if (e != NULL) {
		if (!json_is_object(e) ||
		    !json_is_integer(json_object_get(e, "code")) ||
		    !json_is_string(json_object_get(e, "message")))
			return fail(MCP_INVALID_REQUEST, err, errlen, "error: "
			    "expected an object with code and message");
		if (json_is_null(m->id)) {
			/* the answer to a message whose id could not be read */
			m->kind = MCP_ERROR;
			m->error = e;
			return 0;
		}
	}
	if (!id_ok(m->id))
		return fail(MCP_INVALID_REQUEST, err, errlen, "id: expected a "
		    "string or an integer");
	m->kind = e != NULL ? MCP_ERROR : MCP_RESULT;
	m->result = res;
	m->error = e;
	return 0;
}

static int
classify_call(mcp_msg *m, json_t *method, char *err, size_t errlen)
{
	json_t *params = json_object_get(m->root, "params");

	if (!json_is_string(method) || json_string_length(method) == 0 ||
	    json_string_length(method) > MCP_METHOD_MAX)
		return fail(MCP_INVALID_REQUEST, err, errlen, "method: expected "
		    "a string of 1 to 128 bytes");
	if (params != NULL && !json_is_object(params))
		return fail(MCP_INVALID_REQUEST, err, errlen, "params: expected "
		    "an object");
	if (m->id != NULL && !id_ok(m->id))
		return fail(MCP_INVALID_REQUEST, err, errlen, "id: expected a "
		    "string or an integer");
	m->kind = m->id != NULL ? MCP_REQUEST : MCP_NOTIFICATION;
	m->method = json_string_value(method);
	m->params = params;
	return 0;
}

static int
classify(mcp_msg *m, char *err, size_t errlen)
{
	json_t *v = json_object_get(m->root, "jsonrpc");
	json_t *method = json_object_get(m->root, "method");

	if (!json_is_string(v) || strcmp(json_string_value(v), "2.0") != 0)
		return fail(MCP_INVALID_REQUEST, err, errlen, "jsonrpc: expected "
		    "\"2.0\"");
	m->id = json_object_get(m->root, "id");
	if (method != NULL)
		return classify_call(m, method, err, errlen);
	if (m->id == NULL)
		return fail(MCP_INVALID_REQUEST, err, errlen, "neither a method "
		    "nor a response");
	return classify_response(m, err, errlen);
}

int
mcp_msg_parse(const char *buf, size_t len, size_t max, mcp_msg *out,
    char *err, size_t errlen)
{
	json_error_t je;
	json_t *id;
	int rc;

	memset(out, 0, sizeof(*out));
	if (len > max)
		return fail(MCP_INVALID_REQUEST, err, errlen, "message too large");
	if (!depth_ok(buf, len))
		return fail(MCP_PARSE_ERROR, err, errlen, "nested too deeply");
	out->root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
	if (out->root == NULL) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "not JSON: %s (byte %d)", je.text,
			    je.position);
		return MCP_PARSE_ERROR;
	}
	if (!json_is_object(out->root)) {
		const char *why = json_is_array(out->root) ? "batches are not "
		    "part of MCP" : "expected a JSON object";
		json_decref(out->root);
		out->root = NULL;
		return fail(MCP_INVALID_REQUEST, err, errlen, why);
	}
	if ((rc = classify(out, err, errlen)) == 0)
		return 0;
	id = json_object_get(out->root, "id");
	id = id_ok(id) ? json_incref(id) : NULL;
	json_decref(out->root);
	memset(out, 0, sizeof(*out));
	out->id = id;
	return rc;
}

void
mcp_msg_clear(mcp_msg *m)
{
	if (m == NULL)
		return;
	if (m->root == NULL)
		json_decref(m->id); /* the id kept from a refused message */
	json_decref(m->root);
	memset(m, 0, sizeof(*m));
}

static json_t *
envelope(json_t *id)
{
	json_t *m = json_object();

	if (m != NULL && (json_object_set_new(m, "jsonrpc", json_string("2.0"))
	    || (id != NULL && json_object_set(m, "id", id)))) {
		json_decref(m);
		return NULL;
	}
	return m;
}

json_t *
mcp_result_msg(json_t *id, json_t *result)
{
	json_t *m = envelope(id);

	if (m == NULL || result == NULL) {
		json_decref(result);
		json_decref(m);
		return NULL;
	}
	if (json_object_set_new(m, "result", result)) {
		json_decref(m);
		return NULL;
	}
	return m;
}

json_t *
mcp_error_msg(json_t *id, int code, const char *message)
{
	json_t *m = envelope(id != NULL ? id : json_null());
	json_t *e = json_pack("{s:i,s:s}", "code", code, "message", message);

	if (m == NULL || e == NULL || json_object_set_new(m, "error", e)) {
		json_decref(m);
		return NULL;
	}
	return m;
}

json_t *
mcp_request_msg(json_t *id, const char *method, json_t *params)
{
	json_t *m = envelope(id);

	if (m == NULL || json_object_set_new(m, "method", json_string(method))) {
		json_decref(params);
		json_decref(m);
		return NULL;
	}
	if (params != NULL && json_object_set_new(m, "params", params)) {
		json_decref(m);
		return NULL;
	}
	return m;
}

json_t *
mcp_notification_msg(const char *method, json_t *params)
{
	return mcp_request_msg(NULL, method, params);
}

json_t *
mcp_text_result(const char *text, int is_error)
{
	return json_pack("{s:[{s:s,s:s}],s:b}", "content", "type", "text",
	    "text", text, "isError", is_error);
}
