/*
 * Fuzz harness for mdt_fhir_patient_of.  The input is a resource
 * reference, optionally followed by a newline and a claimed patient.
 * Checks, for every input:
 *   - the status is 0, MDT_EPATIENT or MDT_EINVAL; a refusal says why and
 *     leaves the outputs untouched (a patient refusal may name the one
 *     valid patient the reference names); the answer is deterministic;
 *   - NONE: the id is "", the type is outside the compartment, and any
 *     claim gives NONE again;
 *   - REFERENCE: the id is a FHIR id, equals the claim when there is one,
 *     is confirmed by claiming it, and any other claim is refused;
 *   - CLAIMED: the id is the claim, and without the claim it is refused.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <mandate/fhir.h>
#include <mandate/scope.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define INPUT_MAX (MDT_SCOPE_REF_MAX + 128)

typedef struct answer {
	int rc;
	mdt_fhir_patient_source src;
	char id[MDT_FHIR_ID_BUF];
	char err[MDT_ERRMSG_MAX];
} answer;

static void
ask(const char *ref, const char *claimed, answer *a)
{
	memset(a, 0, sizeof(*a));
	a->src = (mdt_fhir_patient_source)77;
	memcpy(a->id, "~", 2);
	a->rc = mdt_fhir_patient_of(ref, claimed, a->id, sizeof(a->id),
	    &a->src, a->err, sizeof(a->err));
	if (a->rc != 0 && a->rc != -MDT_EPATIENT && a->rc != -MDT_EINVAL)
		abort();
	/* a refusal writes nothing, except that a patient refusal may name
	 * the one (valid) patient the reference names */
	if (a->rc != 0 && (a->err[0] == '\0' || (int)a->src != 77 ||
	    (strcmp(a->id, "~") != 0 && (a->rc != -MDT_EPATIENT ||
	    !mdt_fhir_id_valid(a->id)))))
		abort();
}

static const char *
type_of(const char *ref, char *buf, size_t len)
{
	mdt_scope_param params[MDT_SCOPE_PARAMS_MAX];
	mdt_scope_request req;

	if (mdt_scope_request_parse(ref, &req, buf, len, params,
	    MDT_SCOPE_PARAMS_MAX, NULL, 0) != 0)
		abort(); /* a derived patient implies a well-formed reference */
	return req.type;
}

/* A valid claim that differs from id. */
static const char *
other_than(const char *id)
{
	return strcmp(id, "zz-other") == 0 ? "zz-another" : "zz-other";
}

static void
check_success(const char *ref, const char *claimed, const answer *a)
{
	char buf[INPUT_MAX + 64];
	answer b;

	if (a->src == MDT_FHIR_PATIENT_NONE) {
		if (a->id[0] != '\0' ||
		    mdt_fhir_in_patient_compartment(type_of(ref, buf,
		    sizeof(buf))))
			abort();
		ask(ref, "zz-other", &b);
		if (b.rc != 0 || b.src != MDT_FHIR_PATIENT_NONE)
			abort();
		return;
	}
	if (!mdt_fhir_id_valid(a->id) ||
	    !mdt_fhir_in_patient_compartment(type_of(ref, buf, sizeof(buf))))
		abort();
	if (a->src == MDT_FHIR_PATIENT_CLAIMED) {
		if (claimed[0] == '\0' || strcmp(a->id, claimed) != 0)
			abort();
		ask(ref, NULL, &b);
		if (b.rc != -MDT_EPATIENT)
			abort();
		return;
	}
	if (a->src != MDT_FHIR_PATIENT_REFERENCE ||
	    (claimed[0] != '\0' && strcmp(claimed, a->id) != 0))
		abort();
	ask(ref, a->id, &b);
	if (b.rc != 0 || b.src != MDT_FHIR_PATIENT_REFERENCE ||
	    strcmp(b.id, a->id) != 0)
		abort();
	ask(ref, other_than(a->id), &b);
	if (b.rc != -MDT_EPATIENT)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char in[INPUT_MAX + 1];
	const char *claimed = "";
	char *nl;
	answer a, again;

	if (size > INPUT_MAX)
		return 0;
	memcpy(in, data, size);
	in[size] = '\0';
	if ((nl = strchr(in, '\n')) != NULL) {
		*nl = '\0';
		claimed = nl + 1;
	}
	ask(in, claimed, &a);
	ask(in, claimed, &again);
	if (memcmp(&a, &again, sizeof(a)) != 0)
		abort();
	if (a.rc == 0)
		check_success(in, claimed, &a);
	return 0;
}
