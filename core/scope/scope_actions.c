/*
 * The requests a scope grants, one per action, named as authorize names
 * them (the Cedar action of a FHIR letter, the tool's own name), so that
 * every tool asking policy "what may this scope do" asks it the same way.
 */
#include <stdio.h>
#include <string.h>

#include <mandate/scope.h>

static const struct {
	char letter;
	const char *action;
} letters[] = {
	{ 'c', "create" }, { 'r', "read" }, { 'u', "update" },
	{ 'd', "delete" }, { 's', "search" },
};

int
mdt_scope_actions(const char *text, mdt_scope_action_fn fn, void *arg)
{
	char ctx[16], type[128], acts[16], l[2] = { 0, 0 };
	int rc = 0;

	if (text == NULL || fn == NULL)
		return -MDT_EINVAL;
	if (sscanf(text, "%15[^/]/%127[^.].%15[a-z]", ctx, type, acts) != 3)
		return 0;
	if (strcmp(ctx, "tool") == 0)
		return strchr(acts, 'x') != NULL ? fn(arg, "x", type, type, 1) :
		    0;
	for (size_t i = 0; rc == 0 && i < sizeof(letters) /
	    sizeof(letters[0]); i++) {
		if (strchr(acts, letters[i].letter) == NULL)
			continue;
		l[0] = letters[i].letter;
		rc = fn(arg, l, letters[i].action, type, 0);
	}
	return rc;
}
