/*
 * Requests as recorded data: a record builder written out in Cedar's
 * context JSON (what the audit store keeps with each decision), and the
 * replay of such a recorded request against a policy set, so a decision
 * can be re-made later, under the rules of then or of now.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "alloc_int.h"
#include "cedar/cedar_int.h"

static json_t *value_json(const cedar_value *v);

static json_t *
str_json(cedar_str s)
{
	return json_stringn(s.p, s.n);
}

static json_t *
uid_json(const cedar_uid *u)
{
	return json_pack("{s:{s:o, s:o}}", "__entity", "type", str_json(u->type),
	    "id", str_json(u->id));
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

static json_t *
extn(const char *fn, const char *arg)
{
	return json_pack("{s:{s:s, s:s}}", "__extn", "fn", fn, "arg", arg);
}

static json_t *
datetime_json(int64_t ms)
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
	return extn("datetime", buf);
}

static json_t *
decimal_json(int64_t l)
{
	uint64_t a = l < 0 ? (uint64_t)0 - (uint64_t)l : (uint64_t)l;
	char buf[40];

	snprintf(buf, sizeof(buf), "%s%" PRIu64 ".%04" PRIu64, l < 0 ? "-" : "",
	    a / 10000, a % 10000);
	return extn("decimal", buf);
}

static json_t *
set_json(const cedar_value *v)
{
	json_t *a = json_array();

	for (size_t i = 0; a != NULL && i < v->u.set.n; i++) {
		json_t *e = value_json(&v->u.set.v[i]);
		if (e == NULL || json_array_append_new(a, e) != 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

static json_t *
rec_json(const cedar_value *v)
{
	json_t *o = json_object();
	char key[256];

	for (size_t i = 0; o != NULL && i < v->u.rec.n; i++) {
		const cedar_field *f = &v->u.rec.f[i];
		json_t *e = value_json(&f->val);
		if (f->key.n >= sizeof(key) || memchr(f->key.p, 0, f->key.n)) {
			json_decref(e);
			e = NULL;
		} else {
			memcpy(key, f->key.p, f->key.n);
			key[f->key.n] = 0;
		}
		if (e == NULL || json_object_set_new(o, key, e) != 0) {
			json_decref(o);
			return NULL;
		}
	}
	return o;
}

static json_t *
value_json(const cedar_value *v)
{
	char buf[32];

	switch (v->kind) {
	case CK_BOOL:
		return json_boolean(v->u.b);
	case CK_LONG:
		return json_integer(v->u.l);
	case CK_STRING:
		return str_json(v->u.s);
	case CK_ENTITY:
		return uid_json(&v->u.uid);
	case CK_SET:
		return set_json(v);
	case CK_RECORD:
		return rec_json(v);
	case CK_DECIMAL:
		return decimal_json(v->u.l);
	case CK_DATETIME:
		return datetime_json(v->u.l);
	case CK_DURATION:
		snprintf(buf, sizeof(buf), "%" PRId64 "ms", v->u.l);
		return extn("duration", buf);
	default: /* CK_IP: never in a broker's context */
		return NULL;
	}
}

int
mdt_policy_record_to_json(const mdt_policy_record *rec, char **json)
{
	json_t *j;
	char *text;

	if (rec == NULL || json == NULL || rec->depth != 1)
		return -MDT_EINVAL;
	if ((j = rec_json(cedar_record_root(rec))) == NULL)
		return -MDT_EUNSUPPORTED;
	text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(j);
	if (text == NULL)
		return -MDT_ENOMEM;
	*json = mdt__strndup(text, strlen(text));
	free(text);
	return *json != NULL ? 0 : -MDT_ENOMEM;
}

/* ---- replay -------------------------------------------------------- */

static int
req_uid(const json_t *req, const char *field, mdt_entity_uid *u, char *err,
    size_t errlen)
{
	const json_t *o = json_object_get(req, field);
	const json_t *t = json_object_get(o, "type"), *id = json_object_get(o,
	    "id");

	if (!json_is_string(t) || !json_is_string(id)) {
		snprintf(err, errlen, "request.%s: needs string type and id",
		    field);
		return -MDT_EPARSE;
	}
	u->type = json_string_value(t);
	u->id = json_string_value(id);
	u->id_len = json_string_length(id);
	return 0;
}

/* Loads ctx (an object) into rec and the entities (an array, or absent)
 * into an overlay over base. */
static int
replay_inputs(const json_t *req, const mdt_entity_store *base,
    mdt_policy_record *rec, mdt_entity_store **ov, char *err, size_t errlen)
{
	const json_t *ctx = json_object_get(req, "context");
	const json_t *ents = json_object_get(req, "entities");
	char *text;
	int rc;

	if (!json_is_object(ctx) || (ents != NULL && !json_is_array(ents))) {
		snprintf(err, errlen, "request: context must be an object and "
		    "entities an array");
		return -MDT_EPARSE;
	}
	if ((text = json_dumps(ctx, JSON_COMPACT)) == NULL)
		return -MDT_ENOMEM;
	rc = mdt_policy_record_load_json(rec, text, strlen(text),
	    "request.context", err, errlen);
	free(text);
	if (rc == 0)
		rc = base != NULL ? mdt_entity_store_new_overlay(ov, base) :
		    mdt_entity_store_new(ov);
	if (rc != 0 || ents == NULL)
		return rc;
	if ((text = json_dumps(ents, JSON_COMPACT)) == NULL)
		return -MDT_ENOMEM;
	rc = mdt_entity_store_load_json(*ov, text, strlen(text),
	    "request.entities", err, errlen);
	free(text);
	return rc;
}

int
mdt_policy_replay(const mdt_policy_set *set,
    const mdt_entity_store *entities, const char *request, size_t len,
    mdt_policy_answer *ans, char *err, size_t errlen)
{
	mdt_policy_record *rec = NULL;
	mdt_entity_store *ov = NULL;
	mdt_policy_request req;
	json_error_t je;
	json_t *j;
	int rc;

	if (set == NULL || request == NULL || ans == NULL)
		return -MDT_EINVAL;
	if ((j = json_loadb(request, len, JSON_REJECT_DUPLICATES, &je)) ==
	    NULL) {
		snprintf(err, errlen, "request: %s", je.text);
		return -MDT_EPARSE;
	}
	rc = mdt_policy_record_new(&rec);
	if (rc == 0 && ((rc = req_uid(j, "principal", &req.principal, err,
	    errlen)) != 0 || (rc = req_uid(j, "action", &req.action, err,
	    errlen)) != 0 || (rc = req_uid(j, "resource", &req.resource, err,
	    errlen)) != 0))
		rc = -MDT_EPARSE;
	if (rc == 0)
		rc = replay_inputs(j, entities, rec, &ov, err, errlen);
	if (rc == 0) {
		req.context = rec;
		rc = mdt_policy_evaluate(set, ov, &req, ans);
	}
	mdt_entity_store_free(ov);
	mdt_policy_record_free(rec);
	json_decref(j);
	return rc;
}
