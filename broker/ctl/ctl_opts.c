/*
 * Option parsing and input helpers for `mandatectl keygen` and
 * `mandatectl token` (see ctl_token.h).
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl.h"
#include "ctl_token.h"

#define TOKEN_INPUT_MAX (MDT_TOKEN_TEXT_MAX + 64)

static const ctl_opt *
find_opt(const ctl_opt *opts, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(opts[i].name, name) == 0)
			return &opts[i];
	return NULL;
}

static int
usage(const char *cmd, const char *what, const char *arg)
{
	ctl_error("%s %s (see `mandatectl %s --help`)", what, arg, cmd);
	return CTL_EXIT_USAGE;
}

static int
take(const ctl_opt *o, const char *v, const char *cmd)
{
	if (o->kind == CTL_OPT_MULTI) {
		if (*o->nmulti >= CTL_OPT_MULTI_MAX)
			return usage(cmd, "too many", o->name);
		o->multi[(*o->nmulti)++] = v;
		return 0;
	}
	if (*o->value != NULL)
		return usage(cmd, "repeated option", o->name);
	*o->value = v;
	return 0;
}

int
ctl_parse_opts(int argc, char **argv, int first, const ctl_opt *opts,
    size_t nopts, const char *cmd)
{
	for (int i = first; i < argc; i++) {
		const ctl_opt *o = find_opt(opts, nopts, argv[i]);
		int rc;

		if (o == NULL)
			return usage(cmd, argv[i][0] == '-' ? "unknown option" :
			    "unexpected argument", argv[i]);
		if (o->kind == CTL_OPT_FLAG) {
			rc = take(o, "1", cmd);
		} else {
			if (i + 1 >= argc)
				return usage(cmd, "a value is needed after",
				    argv[i]);
			rc = take(o, argv[++i], cmd);
		}
		if (rc != 0)
			return rc;
	}
	return 0;
}

int
ctl_missing(const char *opt, const char *cmd)
{
	return usage(cmd, "missing", opt);
}

int
ctl_require(const char *cmd, const ctl_required *req, size_t n)
{
	char list[512] = "";
	size_t len = 0, missing = 0;

	for (size_t i = 0; i < n; i++) {
		if (*req[i].value != NULL)
			continue;
		len += (size_t)snprintf(list + len, len < sizeof(list) ?
		    sizeof(list) - len : 0, "%s%s", missing++ ? ", " : "",
		    req[i].name);
		if (len >= sizeof(list))
			len = sizeof(list) - 1;
	}
	return missing == 0 ? 0 : usage(cmd, "missing", list);
}

int
ctl_parse_int(const char *s, int64_t min, int64_t max, const char *opt,
    const char *cmd, int64_t *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (s[0] == '\0' || *end != '\0' || errno != 0 || v < min || v > max) {
		ctl_error("%s %s: expected an integer from %lld to %lld "
		    "(see `mandatectl %s --help`)", opt, s, (long long)min,
		    (long long)max, cmd);
		return CTL_EXIT_USAGE;
	}
	*out = v;
	return 0;
}

int
ctl_now(const char *s, const char *cmd, int64_t *out)
{
	if (s == NULL) {
		*out = (int64_t)time(NULL);
		return 0;
	}
	return ctl_parse_int(s, 1, INT64_MAX / 2, "--now", cmd, out);
}

static char *
trim(char *s, size_t *len)
{
	size_t n = *len;

	while (n > 0 && isspace((unsigned char)s[n - 1]))
		n--;
	while (n > 0 && isspace((unsigned char)*s)) {
		s++;
		n--;
	}
	*len = n;
	return s;
}

int
ctl_read_token(const char *arg, mdt_token **out)
{
	mdt_token_reason why;
	char *buf = NULL;
	const char *text;
	size_t len;
	int rc;

	if (strcmp(arg, "-") == 0 || arg[0] == '@') {
		if (ctl_read_file(arg[0] == '@' ? arg + 1 : arg, TOKEN_INPUT_MAX,
		    &buf, &len) != 0)
			return CTL_EXIT_INVALID;
		text = trim(buf, &len);
	} else {
		len = strlen(arg);
		text = arg;
	}
	rc = mdt_token_decode_text(text, len, out, &why);
	if (buf != NULL) {
		memset(buf, 0, strlen(buf)); /* it carried a secret */
		free(buf);
	}
	if (rc != 0) {
		ctl_token_error("token does not decode", &why, rc);
		return CTL_EXIT_INVALID;
	}
	return 0;
}

int
ctl_load_pub(const char *path, mdt_pubkey *out)
{
	char err[MDT_ERRMSG_MAX];
	int rc = mdt_pubkey_load(path, out, err, sizeof(err));

	if (rc != 0) {
		ctl_error("%s", err);
		return CTL_EXIT_INVALID;
	}
	return 0;
}

int
ctl_load_key(const char *path, mdt_keypair **out)
{
	char err[MDT_ERRMSG_MAX];
	int rc = mdt_keypair_load(path, out, err, sizeof(err));

	if (rc != 0) {
		ctl_error("%s", err);
		return CTL_EXIT_INVALID;
	}
	return 0;
}

int
ctl_scopes(const char *const *v, size_t n, const char *cmd,
    mdt_scope_set **out)
{
	return ctl_scopes_opt(v, n, "--scope", cmd, out);
}

int
ctl_scopes_opt(const char *const *v, size_t n, const char *opt,
    const char *cmd, mdt_scope_set **out)
{
	char err[MDT_ERRMSG_MAX];
	mdt_scope_set *set;

	if (mdt_scope_set_new(&set) != 0)
		return CTL_EXIT_INVALID;
	for (size_t i = 0; i < n; i++) {
		mdt_scope_set *one;

		if (mdt_scope_set_parse(v[i], strlen(v[i]), &one, err,
		    sizeof(err)) != 0) {
			ctl_error("%s '%s': %s (see `mandatectl %s "
			    "--help`)", opt, v[i], err, cmd);
			mdt_scope_set_free(set);
			return CTL_EXIT_USAGE;
		}
		for (size_t k = 0; k < mdt_scope_set_count(one); k++) {
			char s[MDT_SCOPE_TEXT_MAX + 1];

			if (mdt_scope_set_get(one, k, s, sizeof(s)) != 0 ||
			    mdt_scope_set_add(set, s, strlen(s), err,
			    sizeof(err)) != 0) {
				ctl_error("%s '%s': %s", opt, v[i], err);
				mdt_scope_set_free(one);
				mdt_scope_set_free(set);
				return CTL_EXIT_USAGE;
			}
		}
		mdt_scope_set_free(one);
	}
	*out = set;
	return 0;
}

int
ctl_print_token(const mdt_token *tok)
{
	char *text;

	if (mdt_token_to_text(tok, &text) != 0) {
		ctl_error("out of memory");
		return CTL_EXIT_INVALID;
	}
	printf("%s\n", text);
	mdt_token_text_free(text);
	return fflush(stdout) == 0 ? 0 : CTL_EXIT_INVALID;
}

void
ctl_token_error(const char *what, const mdt_token_reason *why, int rc)
{
	/* Library messages already name the block; the code's text closes
	 * the line so scripts can match on it. */
	if (why->message[0] != '\0')
		ctl_error("%s: %s (%s)", what, why->message, mdt_strerror(rc));
	else
		ctl_error("%s: %s", what, mdt_strerror(rc));
}

int
ctl_verify_roots(mdt_token *tok, const char *path)
{
	mdt_pubkey roots[MDT_TOKEN_ROOTS_MAX];
	char err[MDT_ERRMSG_MAX];
	mdt_token_reason why;
	size_t n = 0;
	int rc;

	if (mdt_token_roots_load(path, roots, MDT_TOKEN_ROOTS_MAX, &n, err,
	    sizeof(err)) != 0) {
		ctl_error("--root: %s", err);
		return CTL_EXIT_INVALID;
	}
	if ((rc = mdt_token_verify_roots(tok, roots, n, NULL, &why)) != 0) {
		ctl_token_error("token does not verify", &why, rc);
		return CTL_EXIT_INVALID;
	}
	return 0;
}
