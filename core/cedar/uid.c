/*
 * Entity uids from Cedar text (`Ns::Type::"id"`), for command lines and
 * configuration: parsed with the policy lexer so escapes and namespaces
 * follow the policy language exactly.
 */
#include <string.h>

#include "alloc_int.h"
#include "cedar/parse_int.h"

int
mdt_entity_uid_parse(const char *text, size_t len, mdt_entity_uid *out,
    char **storage)
{
	cedar_arena a;
	cedar_parser p;
	cedar_uid u;
	char err[MDT_ERRMSG_MAX];
	char *buf;
	int rc = -MDT_EPARSE;

	if (text == NULL || out == NULL || storage == NULL)
		return -MDT_EINVAL;
	cedar_arena_init(&a, 0);
	memset(&p, 0, sizeof(p));
	cedar_lex_init(&p.lx, text, len);
	p.name = "uid";
	p.a = &a;
	p.err = err;
	p.errlen = sizeof(err);
	cp_next(&p);
	if (cp_entity_ref(&p, &u) == 0 && p.tok.kind == T_EOF) {
		rc = -MDT_ENOMEM;
		if ((buf = mdt__malloc(u.type.n + u.id.n + 2)) != NULL) {
			memcpy(buf, u.type.p, u.type.n);
			buf[u.type.n] = '\0';
			memcpy(buf + u.type.n + 1, u.id.p, u.id.n);
			buf[u.type.n + 1 + u.id.n] = '\0';
			out->type = buf;
			out->id = buf + u.type.n + 1;
			out->id_len = u.id.n;
			*storage = buf;
			rc = 0;
		}
	}
	cedar_arena_free(&a);
	return rc;
}
