/*
 * Internals of mandate-console, the read-only web console over an audit
 * store (docs/security-teams.md, "The console"): the bounded HTTP/1.1
 * request parser and form decoding (http_parse.c, form.c: untrusted
 * bytes, fuzzed by fuzz/fuzz_console_http.c), the HTML buffer
 * (html.c), the admin credential and sessions (auth.c), the pages
 * (pages.c, page_task.c) and the listener (server.c).  Nothing here is
 * public API.
 */
#ifndef CON_CONSOLE_INT_H
#define CON_CONSOLE_INT_H

#include <stddef.h>
#include <stdint.h>

#include <mandate/store.h>
#include <mandate/key.h>

/* Bounds of one request: exceeding one is an error answer, never a
 * truncation. */
#define CON_HEAD_MAX 8192          /* request line and header fields */
#define CON_BODY_MAX 4096          /* a body (only the sign-in form has one) */
#define CON_FIELDS_MAX 48          /* header fields */
#define CON_TARGET_MAX 2048        /* request target, query included */
#define CON_VALUE_MAX 1024         /* one decoded form or query value */

#define CON_MORE 1                 /* parse: need more bytes */

typedef struct con_field {
	const char *name, *value;  /* into the parsed buffer, not NUL-ended */
	size_t nlen, vlen;
} con_field;

/* A parsed request; pointers are into the buffer it was parsed from. */
typedef struct con_req {
	char method[8];
	const char *path, *query;  /* query: after '?', NULL when none */
	size_t path_len, query_len;
	con_field fields[CON_FIELDS_MAX];
	size_t nfields;
	const char *body;
	size_t body_len;
	size_t total;              /* bytes of the whole request */
} con_req;

/*
 * Parses one HTTP/1.0 or 1.1 request at the start of buf (len bytes).
 * 0 with *r filled when complete (r->total bytes), CON_MORE when more
 * bytes are needed, or the status to answer a request that breaks a
 * rule: 400 (malformed; a duplicate Host, Cookie or Content-Length),
 * 411 (a POST without Content-Length), 413 (body over CON_BODY_MAX),
 * 414 (target over CON_TARGET_MAX), 431 (head over CON_HEAD_MAX or
 * over CON_FIELDS_MAX fields), 501 (Transfer-Encoding, an unknown
 * method), 505 (another version).  Lines end in CRLF; no folding.
 */
int con_http_parse(const char *buf, size_t len, con_req *r);

/* The value of header name (lower case) and its length, or NULL. */
const char *con_header(const con_req *r, const char *name, size_t *len);

/* Whether path is exactly p. */
int con_path_is(const con_req *r, const char *p);

/*
 * The value of key in an application/x-www-form-urlencoded string s (n
 * bytes), percent-decoded ('+' is a space) into out (size len).  1 when
 * found, 0 when absent, -1 when malformed: a bad escape, a control
 * character or NUL decoded, invalid UTF-8, or longer than len - 1.
 * The first occurrence wins.
 */
int con_form_get(const char *s, size_t n, const char *key, char *out,
    size_t len);

/* The value of cookie name in a Cookie header value (n bytes) into out
 * (size len); 1 found, 0 absent, -1 too long or not a cookie-octet. */
int con_cookie_get(const char *s, size_t n, const char *name, char *out,
    size_t len);

/* ------------------------------------------------------------------ */

/* A growing output buffer; oom set once an append failed. */
typedef struct con_buf {
	char *p;
	size_t len, cap;
	int oom;
} con_buf;

#define CON_BUF_MAX (64u << 20)

void con_put(con_buf *b, const char *s, size_t n);
void con_puts(con_buf *b, const char *s);
void con_printf(con_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* s with & < > " ' as character references (NULL: "-"). */
void con_esc(con_buf *b, const char *s);
/* s percent-encoded for a query value (then safe inside an attribute). */
void con_url(con_buf *b, const char *s);
void con_buf_free(con_buf *b);

/* ------------------------------------------------------------------ */

#define CON_SESSIONS_MAX 64
#define CON_SESSION_IDLE_MS (30 * 60 * 1000)
#define CON_SESSION_LIFE_MS (12 * 3600 * 1000)
#define CON_TOKEN_HEX 64           /* session and sign-in form tokens */
#define CON_FAILS_MAX 10           /* failed sign-ins per window */
#define CON_FAILS_WINDOW_MS 60000

typedef struct con_session {
	unsigned char id_hash[32];  /* BLAKE2b of the cookie value */
	int64_t created_ms, seen_ms;
	int used;
} con_session;

typedef struct con_auth {
	unsigned char cred_hash[32];  /* BLAKE2b of the credential */
	con_session sessions[CON_SESSIONS_MAX];
	int64_t fail_window_ms;
	unsigned fails;
} con_auth;

/* Reads the credential file (mode 0600 or stricter, at least 16
 * printable bytes, one line); 0 or -1 with err set. */
int con_auth_load(con_auth *a, const char *path, char *err, size_t errlen);
/* Whether the credential given (len bytes) is the admin's, in constant
 * time; counts failures. */
int con_auth_check(con_auth *a, const char *given, size_t len, int64_t now);
/* Whether sign-ins are refused for now (too many failures). */
int con_auth_throttled(con_auth *a, int64_t now);
/* A new session; its cookie value (CON_TOKEN_HEX hex + NUL) into out. */
int con_session_new(con_auth *a, int64_t now, char out[CON_TOKEN_HEX + 1]);
/* Whether cookie is a live session (touched when it is). */
int con_session_valid(con_auth *a, const char *cookie, int64_t now);
void con_session_end(con_auth *a, const char *cookie);
/* CON_TOKEN_HEX random hex characters + NUL. */
void con_random_token(char out[CON_TOKEN_HEX + 1]);
/* Constant-time equality of two strings (lengths may differ). */
int con_token_equal(const char *a, const char *b);
void con_auth_wipe(con_auth *a);

/* ------------------------------------------------------------------ */

typedef struct con_app {
	mdt_store *store;
	const char *broker_url;     /* the access page's broker (NULL: none) */
	const char *admin_id;       /* an agent in the broker's `admins` */
	mdt_keypair *admin_key;
	const char *store_uri;      /* for mdt_store_verify */
	int have_pub;
	mdt_pubkey pub;
	con_auth auth;
	int loopback_port;          /* listening on loopback: a request's
	                               Host must name a loopback address
	                               with this port; 0 = any Host */
} con_app;

/* An answer: status, body, and what the headers add. */
typedef struct con_resp {
	int status;
	const char *type;           /* Content-Type */
	con_buf body;
	char location[256];         /* for 303 */
	char cookies[2][200];       /* Set-Cookie values */
} con_resp;

/* The page routes of a signed-in request (pages.c); status in resp. */
void con_page_tasks(con_app *a, const con_req *r, con_resp *out);
void con_page_decisions(con_app *a, const con_req *r, con_resp *out);
void con_page_task(con_app *a, const con_req *r, con_resp *out);
void con_page_verify(con_app *a, const con_req *r, con_resp *out);
void con_page_review(con_app *a, const con_req *r, con_resp *out);
void con_page_access(con_app *a, const con_req *r, con_resp *out);

/* Page frame: head (title), navigation, and the closing tags. */
void con_page_open(con_buf *b, const char *title, int signed_in);
void con_page_close(con_buf *b);
/* An error page with status. */
void con_page_error(con_resp *out, int status, const char *msg);
/* One name/value pair of a <dl> (name is markup, v is escaped). */
void con_fact(con_buf *b, const char *name, const char *v);
/* Unix ms as ISO 8601 UTC into buf. */
void con_iso_time(int64_t ms, char *buf, size_t len);
/* One decision as a table row, with its reasons; its cells alone; the
 * table's head (opening the body); the head's cells alone. */
void con_decision_row(con_buf *b, const mdt_store_decision *d);
void con_decision_cells(con_buf *b, const mdt_store_decision *d);
void con_decision_head(con_buf *b);
void con_decision_heads(con_buf *b);

/* The routing of one request (auth.c decides who may, pages answer). */
void con_handle(con_app *a, const con_req *r, con_resp *out);

int64_t con_now_ms(void);

#endif
