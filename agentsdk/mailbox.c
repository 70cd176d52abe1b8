/*
 * Results addressed to this connection's tasks that arrived while the
 * caller was waiting for something else (work, or another child's
 * result), kept until mdt_task_wait_result asks for them.  Bounded.
 */
#include <stdlib.h>
#include <string.h>

#include "sdk_int.h"

static void
result_free(sdk_result *r)
{
	free(r->item);
	free(r->task);
	free(r->parent);
	free(r->status);
	free(r->payload);
	free(r);
}

int
sdk_mailbox_put(mdt_agent *a, const mdt_wire_val *item, char *err,
    size_t errlen)
{
	sdk_result *r = calloc(1, sizeof(*r)), **tail;
	int rv;

	if (r == NULL)
		return -MDT_ENOMEM;
	if ((rv = sdk_get_dup(item, "id", 1, &r->item, err, errlen)) != 0 ||
	    (rv = sdk_get_dup(item, "task", 0, &r->task, err, errlen)) != 0 ||
	    (rv = sdk_get_dup(item, "parent", 1, &r->parent, err,
	    errlen)) != 0 ||
	    (rv = sdk_get_dup(item, "status", 0, &r->status, err,
	    errlen)) != 0 ||
	    (rv = sdk_get_bin_dup(item, "payload", MDT_AGENT_PAYLOAD_MAX, 1,
	    &r->payload, &r->len, err, errlen)) != 0) {
		result_free(r);
		return rv;
	}
	pthread_mutex_lock(&a->mu);
	if (a->nmail >= SDK_MAILBOX_MAX) {
		pthread_mutex_unlock(&a->mu);
		result_free(r);
		return sdk_err(err, errlen, -MDT_EBUSY,
		    "%d results held and not collected", SDK_MAILBOX_MAX);
	}
	for (tail = &a->mailbox; *tail != NULL; tail = &(*tail)->next)
		if (r->item[0] != 0 && strcmp((*tail)->item, r->item) == 0)
			break; /* redelivered after its lease ended: held */
	if (*tail != NULL) {
		pthread_mutex_unlock(&a->mu);
		result_free(r);
		return 0;
	}
	*tail = r;
	a->nmail++;
	pthread_mutex_unlock(&a->mu);
	return 0;
}

static sdk_result *
mailbox_remove(mdt_agent *a, const char *task)
{
	sdk_result **p, *r = NULL;

	pthread_mutex_lock(&a->mu);
	for (p = &a->mailbox; *p != NULL; p = &(*p)->next)
		if (strcmp((*p)->task, task) == 0) {
			r = *p;
			*p = r->next;
			a->nmail--;
			break;
		}
	pthread_mutex_unlock(&a->mu);
	return r;
}

int
sdk_mailbox_take(mdt_agent *a, const char *task, uint8_t **payload,
    size_t *len, char **item, char *err, size_t errlen)
{
	sdk_result *r = mailbox_remove(a, task);
	int rv = 0;

	if (r == NULL)
		return -MDT_ENOTFOUND;
	if (item != NULL) {
		*item = r->item;
		r->item = NULL;
	}
	if (strcmp(r->status, "cancelled") == 0) {
		rv = sdk_err(err, errlen, -MDT_EREVOKED,
		    "task %s was cancelled", task);
	} else {
		*payload = r->payload;
		*len = r->len;
		r->payload = NULL;
	}
	result_free(r);
	return rv;
}

void
sdk_mailbox_clear(mdt_agent *a)
{
	while (a->mailbox != NULL) {
		sdk_result *r = a->mailbox;
		a->mailbox = r->next;
		result_free(r);
	}
	a->nmail = 0;
}
