/*
 * Records and requests written out as JSON in Cedar's formats (context
 * records, entity uids, entities), in one pass into a caller's buffer:
 * what the broker keeps with every decision for a later replay, so its
 * cost is on every authorize.  Nothing is allocated and no JSON tree is
 * built; text is checked (UTF-8, no NUL) as it is copied, so what is
 * written is always JSON that mdt_policy_replay and jansson read.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "alloc_int.h"
#include "utf8_int.h"
#include "cedar/cedar_int.h"

/* The output so far; rc is the first failure, after which writes are
 * no-ops, so a writer's calls chain without checks between them. */
typedef struct jw {
	char *buf;
	size_t len, off;
	int rc;
} jw;

static void
put(jw *w, const char *s, size_t n)
{
	if (w->rc != 0)
		return;
	if (n >= w->len - w->off) {
		w->rc = -MDT_ETOOBIG;
		return;
	}
	memcpy(w->buf + w->off, s, n);
	w->off += n;
}

#define PUT(w, lit) put((w), (lit), sizeof(lit) - 1)

/* The escape of c into e (2 or 6 bytes), for c < 0x20, '"' and '\\'. */
static size_t
escape(unsigned char c, char e[6])
{
	static const char hex[] = "0123456789abcdef";

	e[0] = '\\';
	if (c >= 0x20) {
		e[1] = (char)c;
		return 2;
	}
	memcpy(e + 1, "u00", 3);
	e[4] = hex[c >> 4];
	e[5] = hex[c & 15];
	return 6;
}

/* s[0..n) as a JSON string: valid UTF-8 without NUL, or -MDT_EPARSE.
 * Runs that need no escape are copied whole. */
static void
str(jw *w, const char *s, size_t n)
{
	size_t run = 0;
	char e[6];

	if (w->rc == 0 && !mdt__utf8_ok(s, n, MDT__UTF8_NUL))
		w->rc = -MDT_EPARSE;
	PUT(w, "\"");
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		put(w, s + run, i - run);
		put(w, e, escape(c, e));
		run = i + 1;
	}
	put(w, s + run, n - run);
	PUT(w, "\"");
}

static void
cstr(jw *w, const char *s)
{
	str(w, s != NULL ? s : "", s != NULL ? strlen(s) : 0);
}

/* {"type":T,"id":I} */
static void
uid_obj(jw *w, cedar_str type, cedar_str id)
{
	PUT(w, "{\"type\":");
	str(w, type.p, type.n);
	PUT(w, ",\"id\":");
	str(w, id.p, id.n);
	PUT(w, "}");
}

static void
extn(jw *w, const char *fn, const char *arg)
{
	PUT(w, "{\"__extn\":{\"fn\":");
	cstr(w, fn);
	PUT(w, ",\"arg\":");
	cstr(w, arg);
	PUT(w, "}}");
}

/* Civil date of a day count from 1970-01-01 (H. Hinnant's algorithm). */
static void
civil(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t era, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	yoe = z - era * 146097;
	yoe = (yoe - yoe / 1460 + yoe / 36524 - yoe / 146096) / 365;
	doy = z - era * 146097 - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
	*m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

static void
datetime(jw *w, int64_t ms)
{
	int64_t days = ms / 86400000, rem = ms % 86400000, y;
	unsigned m, d;
	char buf[48];

	if (rem < 0) {
		rem += 86400000;
		days--;
	}
	civil(days, &y, &m, &d);
	snprintf(buf, sizeof(buf), "%04" PRId64 "-%02u-%02uT%02d:%02d:%02d.%03dZ",
	    y, m, d, (int)(rem / 3600000), (int)(rem / 60000 % 60),
	    (int)(rem / 1000 % 60), (int)(rem % 1000));
	extn(w, "datetime", buf);
}

static void
decimal(jw *w, int64_t l)
{
	uint64_t a = l < 0 ? (uint64_t)0 - (uint64_t)l : (uint64_t)l;
	char buf[40];

	snprintf(buf, sizeof(buf), "%s%" PRIu64 ".%04" PRIu64, l < 0 ? "-" : "",
	    a / 10000, a % 10000);
	extn(w, "decimal", buf);
}

static void value(jw *w, const cedar_value *v);

static void
record(jw *w, const cedar_value *v)
{
	PUT(w, "{");
	for (size_t i = 0; i < v->u.rec.n && w->rc == 0; i++) {
		const cedar_field *f = &v->u.rec.f[i];
		if (i > 0)
			PUT(w, ",");
		str(w, f->key.p, f->key.n);
		PUT(w, ":");
		value(w, &f->val);
	}
	PUT(w, "}");
}

static void
value(jw *w, const cedar_value *v)
{
	char buf[32];

	switch (v->kind) {
	case CK_BOOL:
		if (v->u.b)
			PUT(w, "true");
		else
			PUT(w, "false");
		return;
	case CK_LONG:
		put(w, buf, (size_t)snprintf(buf, sizeof(buf), "%" PRId64,
		    v->u.l));
		return;
	case CK_STRING:
		str(w, v->u.s.p, v->u.s.n);
		return;
	case CK_ENTITY:
		PUT(w, "{\"__entity\":");
		uid_obj(w, v->u.uid.type, v->u.uid.id);
		PUT(w, "}");
		return;
	case CK_SET:
		PUT(w, "[");
		for (size_t i = 0; i < v->u.set.n && w->rc == 0; i++) {
			if (i > 0)
				PUT(w, ",");
			value(w, &v->u.set.v[i]);
		}
		PUT(w, "]");
		return;
	case CK_RECORD:
		record(w, v);
		return;
	case CK_DECIMAL:
		decimal(w, v->u.l);
		return;
	case CK_DATETIME:
		datetime(w, v->u.l);
		return;
	case CK_DURATION:
		snprintf(buf, sizeof(buf), "%" PRId64 "ms", v->u.l);
		extn(w, "duration", buf);
		return;
	default: /* CK_IP: never in a broker's context */
		if (w->rc == 0)
			w->rc = -MDT_EUNSUPPORTED;
		return;
	}
}

static cedar_str
uid_id(const mdt_entity_uid *u)
{
	return cedar_cstr(u->id != NULL ? u->id : "", u->id != NULL ?
	    u->id_len : 0);
}

static void
uid_of(jw *w, const mdt_entity_uid *u)
{
	const char *t = u->type != NULL ? u->type : "";

	uid_obj(w, cedar_cstr(t, strlen(t)), uid_id(u));
}

/* The record of rec, or {} for NULL; -MDT_EINVAL while one is open. */
static void
context(jw *w, const mdt_policy_record *rec)
{
	if (rec == NULL) {
		PUT(w, "{}");
		return;
	}
	if (rec->depth != 1 && w->rc == 0)
		w->rc = -MDT_EINVAL;
	record(w, cedar_record_root(rec));
}

/* {"uid":...,"attrs":...,"parents":[...]}, as entity data files have. */
static void
entity(jw *w, const mdt_policy_entity *e)
{
	PUT(w, "{\"uid\":");
	uid_of(w, &e->uid);
	PUT(w, ",\"attrs\":");
	context(w, e->attrs);
	PUT(w, ",\"parents\":[");
	for (size_t i = 0; i < e->nparents; i++) {
		if (i > 0)
			PUT(w, ",");
		uid_of(w, &e->parents[i]);
	}
	PUT(w, "]}");
}

/* Ends the text (NUL) and reports: 0 with *out_len, or the failure. */
static int
finish(jw *w, size_t *out_len)
{
	put(w, "", 0);
	if (w->rc != 0)
		return w->rc;
	w->buf[w->off] = 0;
	if (out_len != NULL)
		*out_len = w->off;
	return 0;
}

int
mdt_policy_record_write_json(const mdt_policy_record *rec, char *buf,
    size_t len, size_t *out_len)
{
	jw w = {buf, len, 0, 0};

	if (rec == NULL || buf == NULL || len == 0)
		return -MDT_EINVAL;
	context(&w, rec);
	return finish(&w, out_len);
}

int
mdt_policy_request_write_json(const mdt_policy_request *req,
    const mdt_policy_entity *ents, size_t nents, char *buf, size_t len,
    size_t *out_len)
{
	jw w = {buf, len, 0, 0};

	if (req == NULL || buf == NULL || len == 0 ||
	    (ents == NULL && nents > 0))
		return -MDT_EINVAL;
	PUT(&w, "{\"principal\":");
	uid_of(&w, &req->principal);
	PUT(&w, ",\"action\":");
	uid_of(&w, &req->action);
	PUT(&w, ",\"resource\":");
	uid_of(&w, &req->resource);
	PUT(&w, ",\"context\":");
	context(&w, req->context);
	PUT(&w, ",\"entities\":[");
	for (size_t i = 0; i < nents; i++) {
		if (i > 0)
			PUT(&w, ",");
		entity(&w, &ents[i]);
	}
	PUT(&w, "]}");
	return finish(&w, out_len);
}

int
mdt_policy_record_to_json(const mdt_policy_record *rec, char **json)
{
	size_t len = 1024;
	char *buf;
	int rc;

	if (rec == NULL || json == NULL || rec->depth != 1)
		return -MDT_EINVAL;
	for (;;) {
		if ((buf = mdt__malloc(len)) == NULL)
			return -MDT_ENOMEM;
		rc = mdt_policy_record_write_json(rec, buf, len, NULL);
		if (rc != -MDT_ETOOBIG || len > MDT_ENTITY_JSON_MAX)
			break;
		mdt__free(buf);
		len *= 4;
	}
	if (rc != 0) {
		mdt__free(buf);
		return rc;
	}
	*json = buf;
	return 0;
}
