/*
 * Who may ask what: the sign-in and sign-out forms, the session check in
 * front of every page, and the routes of a signed-in request.  Pages are
 * GET only (nothing here changes the store); the only state-changing
 * requests are the sign-in and sign-out POSTs, which must come from a
 * page of this console (Origin and Sec-Fetch-Site when the browser sends
 * them, and for the sign-in a form token matching a SameSite=Strict
 * cookie), so another site can neither sign a browser in nor out.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "console_int.h"

#define SESSION_COOKIE "mdt_session"
#define LOGIN_COOKIE "mdt_login"

static const char style[] =
    "body{font-family:system-ui,sans-serif;margin:0;color:#1b1f24}"
    "header{background:#1f3a5f;color:#fff;padding:.5em 1em;display:flex;"
    "gap:1.5em;align-items:center}header a{color:#fff}"
    ".brand{font-weight:bold}.ro{margin-left:auto;font-size:.8em;"
    "opacity:.8}form.out{display:inline}main{padding:1em}"
    "table{border-collapse:collapse;font-size:.85em}td,th{border:1px solid"
    " #ccd;padding:.2em .4em;text-align:left;vertical-align:top}"
    "tr.v-deny td.verdict,tr.v-error td.verdict{color:#a40000;"
    "font-weight:bold}tr.v-step_up td.verdict{color:#8a5a00}"
    "td.reasons{min-width:24em}td.reasons code{white-space:pre-wrap;"
    "word-break:break-all}"
    "form.filters{display:grid;grid-template-columns:repeat(4,max-content"
    " 1fr);gap:.3em .6em;margin-bottom:1em}"
    ".error{color:#a40000}.intact{color:#0a6b2b;font-weight:bold}"
    ".tampered{color:#a40000;font-weight:bold}dl.facts{display:grid;"
    "grid-template-columns:max-content 1fr;gap:.2em 1em}dd{margin:0}"
    "figure.graph{overflow:auto;border:1px solid #ccd;margin:0;"
    "padding:.5em}figure.graph svg{max-width:none;height:auto}"
    ".hint{font-size:.85em;color:#555}\n";

static const char *
header_str(const con_req *r, const char *name, char *buf, size_t len)
{
	size_t n;
	const char *v = con_header(r, name, &n);

	if (v == NULL || n >= len)
		return NULL;
	memcpy(buf, v, n);
	buf[n] = '\0';
	return buf;
}

static int
cookie(const con_req *r, const char *name, char *out, size_t len)
{
	size_t n;
	const char *v = con_header(r, "cookie", &n);

	return v != NULL && con_cookie_get(v, n, name, out, len) == 1;
}

static void
redirect(con_resp *out, const char *to)
{
	out->status = 303;
	snprintf(out->location, sizeof(out->location), "%s", to);
	con_puts(&out->body, "see other\n");
	out->type = "text/plain; charset=utf-8";
}

/* The sign-in form, with the form token of the browser's login cookie
 * when it has one (a second tab, or the favicon's redirect, must not
 * invalidate the form already shown), else a fresh one. */
static void
login_page(const con_req *r, con_resp *out, int status, const char *msg)
{
	char tok[CON_TOKEN_HEX + 2];
	con_buf *b = &out->body;

	if (!cookie(r, LOGIN_COOKIE, tok, sizeof(tok)) ||
	    strlen(tok) != CON_TOKEN_HEX ||
	    strspn(tok, "0123456789abcdef") != CON_TOKEN_HEX)
		con_random_token(tok);
	snprintf(out->cookies[0], sizeof(out->cookies[0]), LOGIN_COOKIE
	    "=%s; Path=/login; HttpOnly; SameSite=Strict; Max-Age=600", tok);
	out->status = status;
	con_page_open(b, "Sign in", 0);
	if (msg != NULL) {
		con_puts(b, "<p class=\"error\" id=\"login-error\">");
		con_esc(b, msg);
		con_puts(b, "</p>");
	}
	con_printf(b, "<form method=\"post\" action=\"/login\" id=\"login\">"
	    "<input type=\"hidden\" name=\"csrf\" value=\"%s\">"
	    "<label for=\"credential\">Admin credential</label> "
	    "<input type=\"password\" name=\"credential\" id=\"credential\" "
	    "autocomplete=\"current-password\" required> "
	    "<button type=\"submit\" id=\"signin\">Sign in</button></form>",
	    tok);
	con_page_close(b);
}

/* Whether a POST comes from a page of this console. */
static int
same_origin(const con_req *r)
{
	char host[300], origin[320], site[32], want[320];

	if (header_str(r, "sec-fetch-site", site, sizeof(site)) != NULL &&
	    strcmp(site, "same-origin") != 0)
		return 0;
	if (header_str(r, "origin", origin, sizeof(origin)) == NULL)
		return 1;
	if (header_str(r, "host", host, sizeof(host)) == NULL)
		return 0;
	snprintf(want, sizeof(want), "http://%s", host);
	return strcasecmp(origin, want) == 0;
}

static int
form_type(const con_req *r)
{
	size_t n;
	const char *v = con_header(r, "content-type", &n);
	const char *want = "application/x-www-form-urlencoded";

	return v != NULL && n >= strlen(want) &&
	    strncasecmp(v, want, strlen(want)) == 0 &&
	    (n == strlen(want) || v[strlen(want)] == ';');
}

static void
sign_in(con_app *a, const con_req *r, con_resp *out)
{
	char csrf[CON_TOKEN_HEX + 2], want[CON_TOKEN_HEX + 2];
	char cred[CON_VALUE_MAX], sid[CON_TOKEN_HEX + 1];
	int64_t now = con_now_ms();

	if (!form_type(r) || !same_origin(r) ||
	    con_form_get(r->body, r->body_len, "csrf", csrf,
	    sizeof(csrf)) != 1 || !cookie(r, LOGIN_COOKIE, want,
	    sizeof(want)) || strlen(want) != CON_TOKEN_HEX ||
	    !con_token_equal(csrf, want)) {
		login_page(r, out, 403, "The sign-in form expired or did not come "
		    "from this console; try again.");
		return;
	}
	if (con_auth_throttled(&a->auth, now)) {
		login_page(r, out, 429, "Too many failed sign-ins; wait a minute.");
		return;
	}
	if (con_form_get(r->body, r->body_len, "credential", cred,
	    sizeof(cred)) != 1 || !con_auth_check(&a->auth, cred,
	    strlen(cred), now)) {
		sodium_memzero(cred, sizeof(cred));
		login_page(r, out, 401, "Wrong credential.");
		return;
	}
	sodium_memzero(cred, sizeof(cred));
	con_session_new(&a->auth, now, sid);
	snprintf(out->cookies[0], sizeof(out->cookies[0]), SESSION_COOKIE
	    "=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=43200", sid);
	snprintf(out->cookies[1], sizeof(out->cookies[1]), LOGIN_COOKIE
	    "=; Path=/login; HttpOnly; SameSite=Strict; Max-Age=0");
	redirect(out, "/");
}

static void
sign_out(con_app *a, const con_req *r, con_resp *out)
{
	char sid[CON_TOKEN_HEX + 2];

	if (same_origin(r) && cookie(r, SESSION_COOKIE, sid, sizeof(sid)))
		con_session_end(&a->auth, sid);
	snprintf(out->cookies[0], sizeof(out->cookies[0]), SESSION_COOKIE
	    "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
	redirect(out, "/login");
}

/* The Host header matches what this console listens as (anti DNS
 * rebinding: another name resolving to 127.0.0.1 is refused). */
static int
host_ok(const con_app *a, const con_req *r)
{
	static const char *const names[] = {"127.0.0.1", "localhost",
	    "[::1]"};
	char host[300], want[64];

	if (a->loopback_port == 0)
		return 1;
	if (header_str(r, "host", host, sizeof(host)) == NULL)
		return 0;
	for (size_t i = 0; i < 3; i++) {
		snprintf(want, sizeof(want), "%s:%d", names[i],
		    a->loopback_port);
		if (strcasecmp(host, want) == 0)
			return 1;
	}
	return 0;
}

static void
signed_in(con_app *a, const con_req *r, con_resp *out)
{
	static const struct {
		const char *path;
		void (*page)(con_app *, const con_req *, con_resp *);
	} pages[] = {
		{"/", con_page_tasks}, {"/decisions", con_page_decisions},
		{"/task", con_page_task}, {"/verify", con_page_verify},
		{"/review", con_page_review}, {"/access", con_page_access},
	};

	if (strcmp(r->method, "POST") == 0) {
		con_page_error(out, 405, "the console is read-only");
		return;
	}
	for (size_t i = 0; i < sizeof(pages) / sizeof(pages[0]); i++)
		if (con_path_is(r, pages[i].path)) {
			pages[i].page(a, r, out);
			return;
		}
	con_page_error(out, 404, "no such page");
}

void
con_handle(con_app *a, const con_req *r, con_resp *out)
{
	char sid[CON_TOKEN_HEX + 2];
	int post = strcmp(r->method, "POST") == 0;

	out->status = 200;
	out->type = "text/html; charset=utf-8";
	if (!host_ok(a, r)) {
		con_page_error(out, 421, "this console answers only as its own "
		    "address");
	} else if (con_path_is(r, "/style.css") && !post) {
		out->type = "text/css; charset=utf-8";
		con_put(&out->body, style, sizeof(style) - 1);
	} else if (con_path_is(r, "/favicon.ico")) {
		con_page_error(out, 404, "no icon");
	} else if (con_path_is(r, "/login")) {
		if (post)
			sign_in(a, r, out);
		else
			login_page(r, out, 200, NULL);
	} else if (con_path_is(r, "/logout") && post) {
		sign_out(a, r, out);
	} else if (!cookie(r, SESSION_COOKIE, sid, sizeof(sid)) ||
	    !con_session_valid(&a->auth, sid, con_now_ms())) {
		if (post)
			con_page_error(out, 401, "sign in first");
		else
			redirect(out, "/login");
	} else {
		signed_in(a, r, out);
	}
}
