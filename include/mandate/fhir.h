/*
 * The patient of a FHIR request, derived from the request itself by the
 * FHIR R4 (4.0.1) CompartmentDefinition for Patient: which resource types
 * lie in a patient's compartment, and through which search parameters.
 * A caller's claim about the patient is accepted only where the request
 * cannot name the patient itself (an instance of a compartment type), and
 * is then marked as a claim the resource server must check against the
 * record.  docs/scopes.md, "The patient of a request", gives the rules.
 */
#ifndef MANDATE_FHIR_H
#define MANDATE_FHIR_H

#include <mandate/common.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A FHIR id is 1 to 64 of [A-Za-z0-9.-]; buffers for one need 65 bytes. */
#define MDT_FHIR_ID_MAX 64
#define MDT_FHIR_ID_BUF (MDT_FHIR_ID_MAX + 1)

/* Where a request's patient comes from. */
typedef enum mdt_fhir_patient_source {
	MDT_FHIR_PATIENT_NONE = 0,  /* the type is not in the Patient
	                             * compartment: no patient */
	MDT_FHIR_PATIENT_REFERENCE, /* read from the reference itself
	                             * (Patient/<id>, a compartment search
	                             * parameter) */
	MDT_FHIR_PATIENT_CLAIMED    /* an instance of a compartment type
	                             * (Observation/obs-1), or a search with no
	                             * compartment parameter: only the caller's
	                             * claim names it; the resource server must
	                             * check the record */
} mdt_fhir_patient_source;

/*
 * The patient whose compartment `resource` lies in.  resource is a request
 * reference as mdt_scope_request_parse parses it: "Type/id", "Type",
 * "Type?name=value&..." (tool/... references are not FHIR: -MDT_EINVAL).
 * claimed: the patient the caller names, a bare FHIR id (NULL or "" when
 * none; anything else that is not a FHIR id is -MDT_EINVAL).
 *
 * On success writes the patient id (no "Patient/" prefix) into out
 * (outlen bytes, at least MDT_FHIR_ID_BUF; "" for NONE) and the source
 * into *src.  For a type outside the compartment the claim is ignored.
 * On failure *src is not written, and out is written only by a refusal
 * (-MDT_EPATIENT) of a reference that names exactly one patient, which
 * it then holds (for the refusal's record: a claim never vouches for a
 * reference to another patient); otherwise out is not written.
 *
 * Refusals (-MDT_EPATIENT; err says what and which parameter):
 *   - the reference names a patient and claimed names another;
 *   - two compartment parameters name different patients, or another
 *     parameter's Patient/ reference ("Condition?subject=Patient/p2")
 *     names another patient than they, or than the claim;
 *   - a compartment type with no patient derivable and no claim
 *     ("Observation", "Observation?code=x", "Observation/obs-1" with
 *     claimed NULL);
 *   - a search of Patient that is not for one patient ("Patient",
 *     "Patient?name=x"), whatever the claim;
 *   - a compartment parameter in a form that cannot be resolved to one
 *     Patient id: chained (patient.name=), a modifier other than :Patient
 *     (subject:Group=), a reference to another type (subject=Group/g1),
 *     an absolute URL, a value that is not a FHIR id;
 *   - a compartment parameter on an instance ("Observation/o1?subject=p"),
 *     which a server ignores when it reads the instance;
 *   - _include or _revinclude, which add resources from outside the
 *     compartment the search names, and _query (a named query means what
 *     the server defines);
 *   - a resource type that is not an R4 resource type (its compartment is
 *     unknown).
 * -MDT_EINVAL for a malformed reference (err: byte offset and reason; the
 * grammar of references has no percent-encoding and no ',' lists), a type
 * that differs from an R4 type only in case, a parameter name that differs
 * from a compartment parameter only in case, or bad arguments.
 * -MDT_ETOOBIG when outlen is too small for the id.
 */
MDT_API MDT_WUR int mdt_fhir_patient_of(const char *resource,
    const char *claimed, char *out, size_t outlen,
    mdt_fhir_patient_source *src, char *err, size_t errlen);

/*
 * 1 if resource type `type` (exactly, e.g. "Observation") is in the R4
 * Patient compartment, else 0 (also for NULL and unknown types).
 */
MDT_API int mdt_fhir_in_patient_compartment(const char *type);

/* 1 if id is a FHIR id ([A-Za-z0-9.-]{1,64}), else 0 (also for NULL). */
MDT_API int mdt_fhir_id_valid(const char *id);

#ifdef __cplusplus
}
#endif
#endif /* MANDATE_FHIR_H */
