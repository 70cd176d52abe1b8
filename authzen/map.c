/*
 * The AuthZEN information model mapped to the broker's evaluate request:
 * subject and resource {type, id, properties} become Cedar entities
 * (type name, id, attributes as Cedar JSON), action.name the action of
 * the resource type's namespace, context the Cedar context record.  Each
 * of the four may come from the evaluation itself or from the defaults
 * of an evaluations call.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authzen_int.h"

static int fail(char *err, size_t errlen, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static int
fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/* key of item, else of defaults; NULL when neither has it. */
static json_t *
pick(json_t *item, json_t *defaults, const char *key)
{
	json_t *v = item != NULL ? json_object_get(item, key) : NULL;

	if (v == NULL && defaults != NULL)
		v = json_object_get(defaults, key);
	return v;
}

/* A non-empty string member, or NULL. */
static const char *
str_member(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL && s[0] != 0 ? s : NULL;
}

/* An optional object as compact JSON text (*out NULL when absent). */
static int
object_text(json_t *v, const char *what, char **out, char *err,
    size_t errlen)
{
	*out = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_object(v))
		return fail(err, errlen, "%s must be an object", what);
	*out = json_dumps(v, JSON_COMPACT);
	return *out == NULL ? fail(err, errlen, "%s: out of memory", what) :
	    0;
}

static int
entity(json_t *o, const char *what, const char **type, const char **id,
    char **props, char *err, size_t errlen)
{
	char name[64];

	if (!json_is_object(o))
		return fail(err, errlen, "%s is required and must be an object",
		    what);
	*type = str_member(o, "type");
	*id = str_member(o, "id");
	if (*type == NULL || *id == NULL)
		return fail(err, errlen, "%s.type and .id must be non-empty "
		    "strings", what);
	snprintf(name, sizeof(name), "%s.properties", what);
	return object_text(json_object_get(o, "properties"), name, props, err,
	    errlen);
}

static int
action(json_t *o, const char **name, char *err, size_t errlen)
{
	if (!json_is_object(o) || (*name = str_member(o, "name")) == NULL)
		return fail(err, errlen, "%s is required: an object with a "
		    "non-empty name", "action");
	/* a Cedar action is a stored entity: no per-request attributes */
	if (json_object_get(o, "properties") != NULL)
		return fail(err, errlen, "%s.properties is not supported: put "
		    "them in the context", "action");
	return 0;
}

/* The context Cedar sees: the request's, without the presentation. */
static int
context(json_t *ctx, struct az_eval *e, char *err, size_t errlen)
{
	json_t *copy;
	int rc;

	e->mandate = json_is_object(ctx) ? json_object_get(ctx, "mandate") :
	    NULL;
	if (e->mandate == NULL)
		return object_text(ctx, "context", &e->context, err, errlen);
	if (!json_is_object(e->mandate))
		return fail(err, errlen, "context.mandate must be an object");
	if ((copy = json_copy(ctx)) == NULL)
		return fail(err, errlen, "context: out of memory");
	json_object_del(copy, "mandate");
	rc = object_text(copy, "context", &e->context, err, errlen);
	json_decref(copy);
	return rc;
}

int
az_eval_map(json_t *item, json_t *defaults, struct az_eval *e, char *err,
    size_t errlen)
{
	memset(e, 0, sizeof(*e));
	if (item != NULL && !json_is_object(item))
		return fail(err, errlen, "%s must be an object", "evaluation");
	if (entity(pick(item, defaults, "subject"), "subject",
	    &e->q.subject_type, &e->q.subject_id, &e->sprops, err,
	    errlen) != 0 ||
	    action(pick(item, defaults, "action"), &e->q.action, err,
	    errlen) != 0 ||
	    entity(pick(item, defaults, "resource"), "resource",
	    &e->q.resource_type, &e->q.resource_id, &e->rprops, err,
	    errlen) != 0 ||
	    context(pick(item, defaults, "context"), e, err, errlen) != 0) {
		az_eval_clear(e);
		return -1;
	}
	e->q.subject_props = e->sprops;
	e->q.resource_props = e->rprops;
	e->q.context = e->context;
	return 0;
}

void
az_eval_clear(struct az_eval *e)
{
	free(e->sprops);
	free(e->rprops);
	free(e->context);
	memset(e, 0, sizeof(*e));
}
