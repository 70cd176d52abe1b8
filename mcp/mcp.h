/*
 * The Model Context Protocol pieces shared by mandate-mcp (the gateway),
 * the clinic example's MCP server and the fuzz harness: JSON-RPC 2.0
 * messages as MCP uses them (parsing untrusted bytes with bounds, and
 * building answers), newline-delimited stdio framing, and the mapping of
 * a tool call onto a Mandate request (docs/mcp.md, "The mapping").
 *
 * Not part of the installed API: the mapping is documented so that an
 * upstream in any language can rebuild the reference it verifies.
 */
#ifndef MANDATE_MCP_H
#define MANDATE_MCP_H

#include <pthread.h>
#include <stddef.h>

#include <jansson.h>

#include <mandate/common.h>
#include <mandate/scope.h>

/* The revision this implementation follows, and the older ones it
 * still answers in (a client asking for another gets the latest). */
#define MCP_PROTOCOL_LATEST "2025-11-25"
extern const char *const mcp_protocol_versions[];

#define MCP_MESSAGE_MAX_DEFAULT (4u * 1024u * 1024u) /* bytes per message */
#define MCP_MESSAGE_MAX_LIMIT (64u * 1024u * 1024u)
#define MCP_DEPTH_MAX 64      /* nesting of arrays and objects */
#define MCP_METHOD_MAX 128    /* bytes of a method name */
#define MCP_ID_MAX 128        /* bytes of a string id */

/* JSON-RPC 2.0 error codes. */
#define MCP_PARSE_ERROR (-32700)
#define MCP_INVALID_REQUEST (-32600)
#define MCP_METHOD_NOT_FOUND (-32601)
#define MCP_INVALID_PARAMS (-32602)
#define MCP_INTERNAL_ERROR (-32603)

/* Where an allowed call's presentation travels in params._meta. */
#define MCP_META_TOKEN "io.mandate/token"
#define MCP_META_PROOF "io.mandate/proof"
#define MCP_META_RESOURCE "io.mandate/resource"
#define MCP_META_DECISION "io.mandate/decision"

typedef enum mcp_kind {
	MCP_REQUEST = 1,      /* method and id */
	MCP_NOTIFICATION = 2, /* method, no id */
	MCP_RESULT = 3,       /* id and result */
	MCP_ERROR = 4         /* id (may be null) and error */
} mcp_kind;

/* One parsed message.  Every pointer is into root, which the message
 * owns (mcp_msg_clear releases it). */
typedef struct mcp_msg {
	mcp_kind kind;
	json_t *root;
	json_t *id;           /* string or integer; JSON null on some errors */
	const char *method;   /* requests and notifications */
	json_t *params;       /* object, or NULL when absent */
	json_t *result;       /* MCP_RESULT */
	json_t *error;        /* MCP_ERROR: object with code and message */
} mcp_msg;

/*
 * Parses one JSON-RPC 2.0 message of len bytes (not NUL-terminated) as
 * MCP allows it: a single object (no batches), "jsonrpc": "2.0", an id
 * that is a string of at most MCP_ID_MAX bytes or an integer, a method
 * of at most MCP_METHOD_MAX bytes, params an object, a response with
 * exactly one of result and error; duplicate keys, NUL in strings,
 * nesting deeper than MCP_DEPTH_MAX and more than max bytes are refused.
 * 0 with *out filled (caller releases with mcp_msg_clear), or
 * MCP_PARSE_ERROR / MCP_INVALID_REQUEST with a reason in err; on a
 * refusal *out is cleared, except that out->id holds the message's id
 * (a new reference, released by mcp_msg_clear) when one could be read,
 * so that the answer can name it.
 */
int mcp_msg_parse(const char *buf, size_t len, size_t max, mcp_msg *out,
    char *err, size_t errlen);
void mcp_msg_clear(mcp_msg *m);

/* Builders.  Each returns a new reference (NULL on no memory); json
 * arguments passed to them are stolen, ids are borrowed (copied). */
json_t *mcp_result_msg(json_t *id, json_t *result);
json_t *mcp_error_msg(json_t *id, int code, const char *message);
json_t *mcp_notification_msg(const char *method, json_t *params);
json_t *mcp_request_msg(json_t *id, const char *method, json_t *params);
/* A tools/call result: one text content item; is_error sets isError. */
json_t *mcp_text_result(const char *text, int is_error);

/* ---- stdio framing: one message per line, no embedded newline ---- */

typedef struct mcp_reader {
	int fd;
	char *buf;
	size_t len, cap, max, off;
	int skipping;         /* inside an oversized line, until its end */
} mcp_reader;

/* A reader of lines of at most max bytes from fd.  0 or -MDT_ENOMEM;
 * release with mcp_reader_free. */
int mcp_reader_init(mcp_reader *r, int fd, size_t max);
void mcp_reader_free(mcp_reader *r);
/*
 * The next line (without its newline; blank lines are skipped): 0 with
 * *line pointing into the reader's buffer, valid until the next call;
 * 1 at end of input; -MDT_ETOOBIG for a line longer than max, which is
 * dropped (the reader resynchronises at the next newline); -MDT_EIO.
 */
int mcp_reader_next(mcp_reader *r, const char **line, size_t *len);

typedef struct mcp_writer {
	int fd;
	pthread_mutex_t lock;
	int failed;
} mcp_writer;

/* Writes all n bytes to fd (a pipe or a socket; the caller ignores
 * SIGPIPE).  0 or -MDT_EIO. */
int mcp_write_all(int fd, const char *p, size_t n);

int mcp_writer_init(mcp_writer *w, int fd);
void mcp_writer_destroy(mcp_writer *w);
/* Writes msg (borrowed) as one line, whole, under the writer's lock, so
 * threads never interleave.  0 or -MDT_EIO (then every later write
 * fails too). */
int mcp_write(mcp_writer *w, const json_t *msg);

/* ---- the mapping of a tool call onto a Mandate request ---- */

/* 1 when name is a Mandate tool name ([a-z][a-z0-9_-]{0,63}). */
int mcp_tool_name_ok(const char *name);

/*
 * The resource reference of a call of tool `name` with arguments args
 * (an object or NULL): "tool/NAME", then "?k=v&..." for the arguments
 * that can be attributes, in bytewise order of their names: names of
 * [A-Za-z0-9_.:-], values that are strings of [A-Za-z0-9_.:~/|@-],
 * integers or booleans, at most 64 bytes; at most MDT_SCOPE_PARAMS_MAX
 * of them; any other argument is left out (a scope restriction or a
 * policy that needs it then does not match).  0, or -MDT_EINVAL for a
 * name that is no tool name, -MDT_ETOOBIG when out is too small.
 */
int mcp_tool_ref(const char *name, json_t *args, char *out,
    size_t outlen);

/*
 * The patient a call names: the first argument listed in names (n of
 * them) that is present.  A string "Patient/ID" or "ID" gives ID; any
 * other value gives its JSON text, which names no patient and so is
 * refused.  1 when one was found (out filled, truncated to outlen), 0
 * when none.
 */
int mcp_patient_arg(json_t *args, const char *const *names, size_t n,
    char *out, size_t outlen);

#endif
