/*
 * mdt_fhir_patient_of: the patient a FHIR request reference touches,
 * derived from the reference by the Patient compartment rules, with a
 * caller's claim accepted only where the reference cannot name the
 * patient (docs/scopes.md, "The patient of a request").  Everything that
 * could name two patients, or a patient in a form a server might resolve
 * differently, is refused.
 */
#include <string.h>

#include <mandate/scope.h>

#include "fhir_int.h"
#include "parse_err_int.h"

#define PREFIX "Patient/"
#define PREFIX_LEN 8

#define REFUSE(...) mdt__errmsg(-MDT_EPATIENT, err, errlen, __VA_ARGS__)

/* The patient named so far, and what named it (for messages). */
typedef struct found {
	char id[MDT_FHIR_ID_BUF]; /* "" until something names a patient */
	const char *by;           /* parameter name, or NULL for the id */
	char other[MDT_FHIR_ID_BUF]; /* a Patient/ value of another parameter */
	const char *other_by;
	int conflict;             /* two patients named: none is "the" one */
} found;

/* How a search parameter of a compartment type bears on the patient. */
typedef enum param_kind {
	PARAM_OTHER,       /* a filter: names no patient */
	PARAM_COMPARTMENT, /* a compartment parameter, plain or :Patient */
	PARAM_ID           /* Patient's own _id */
} param_kind;

static int
names_equal(const char *a, size_t n, const char *word)
{
	return strlen(word) == n && memcmp(a, word, n) == 0;
}

/* Records that `by` names patient id[0..n); refuses a second patient. */
static int
agree(found *f, const char *id, size_t n, const char *by, char *err,
    size_t errlen)
{
	if (f->id[0] == '\0') {
		memcpy(f->id, id, n);
		f->id[n] = '\0';
		f->by = by;
		return 0;
	}
	if (names_equal(id, n, f->id))
		return 0;
	f->conflict = 1;
	return REFUSE("%s%s names patient %s but %s%s names %.*s",
	    f->by != NULL ? "parameter " : "", f->by != NULL ? f->by :
	    "the id", f->id, by != NULL ? "parameter " : "", by != NULL ? by :
	    "the id", (int)n, id);
}

/*
 * The types R4's common search parameter `patient` (clinical-patient:
 * "who the resource is about, if a patient") is defined on, sorted.  On
 * them `patient=X` names the patient as the compartment parameters do,
 * e.g. Observation?patient=X, which R4 defines as subject restricted to
 * Patient.  On any other type a server may not know the parameter and
 * ignore it, so there it names nothing.
 */
static const char *const clinical_patient[] = {
	"AllergyIntolerance", "CarePlan", "CareTeam", "ClinicalImpression",
	"Composition", "Condition", "Consent", "DetectedIssue",
	"DeviceRequest", "DeviceUseStatement", "DiagnosticReport",
	"DocumentManifest", "DocumentReference", "Encounter", "EpisodeOfCare",
	"FamilyMemberHistory", "Flag", "Goal", "ImagingStudy", "Immunization",
	"List", "MedicationAdministration", "MedicationDispense",
	"MedicationRequest", "MedicationStatement", "NutritionOrder",
	"Observation", "Procedure", "RiskAssessment", "ServiceRequest",
	"SupplyDelivery", "VisionPrescription",
};

static int
has_clinical_patient(const char *type)
{
	size_t lo = 0, hi = sizeof(clinical_patient) /
	    sizeof(clinical_patient[0]);

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(type, clinical_patient[mid]);
		if (c == 0)
			return 1;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return 0;
}

/* Whether `base` (n bytes) is one of t's compartment parameters: 1 yes,
 * 0 no, -MDT_EINVAL when it is one but for case. */
static int
is_compartment(const mdt__fhir_type *t, const char *base, size_t n,
    const char *name, char *err, size_t errlen)
{
	if (names_equal(base, n, "patient") && has_clinical_patient(t->type))
		return 1;
	for (size_t k = 0; t->params[k] != NULL; k++) {
		if (names_equal(base, n, t->params[k]))
			return 1;
		if (mdt__fhir_eq_nocase(base, n, t->params[k]))
			return mdt__errmsg(-MDT_EINVAL, err, errlen, "parameter "
			    "%s: search parameter names are case-sensitive "
			    "(%s)", name, t->params[k]);
	}
	return 0;
}

/* A modifier or chain after a compartment parameter: only :Patient. */
static int
check_suffix(const char *name, const char *suffix, char *err, size_t errlen)
{
	if (suffix[0] == '\0' || strcmp(suffix, ":Patient") == 0)
		return 0;
	if (strchr(suffix, '.') != NULL)
		return REFUSE("parameter %s: a chained parameter "
		    "(%s) selects by what the reference points to, not by "
		    "one patient", name, suffix);
	return REFUSE("parameter %s: modifier %s (only :Patient "
	    "names a patient)", name, suffix);
}

static int
classify(const mdt__fhir_type *t, const char *name, param_kind *kind,
    char *err, size_t errlen)
{
	size_t n = strcspn(name, ":.");
	int rc;

	*kind = PARAM_OTHER;
	if (names_equal(name, n, "_include") ||
	    names_equal(name, n, "_revinclude"))
		return REFUSE("parameter %s: adds resources from "
		    "outside the compartment the search names", name);
	if (names_equal(name, n, "_query"))
		return REFUSE("parameter %s: a named query means what the "
		    "server defines, not what the parameters say", name);
	if (strcmp(t->type, "Patient") == 0 && names_equal(name, n, "_id")) {
		if (name[n] != '\0')
			return REFUSE("parameter %s: _id takes no "
			    "modifier", name);
		*kind = PARAM_ID;
		return 0;
	}
	if ((rc = is_compartment(t, name, n, name, err, errlen)) <= 0)
		return rc;
	*kind = PARAM_COMPARTMENT;
	return check_suffix(name, name + n, err, errlen);
}

/* A reference value: Patient/<id> loses its prefix, a bare value stays;
 * a URL, a URN or a reference to another type is refused. */
static int
strip_reference(const mdt_scope_param *p, const char **v, size_t *vl,
    char *err, size_t errlen)
{
	if (*vl >= PREFIX_LEN && memcmp(*v, PREFIX, PREFIX_LEN) == 0) {
		*v += PREFIX_LEN;
		*vl -= PREFIX_LEN;
		return 0;
	}
	if (memchr(*v, ':', *vl) != NULL)
		return REFUSE("parameter %s=%s: an absolute URL or URN (only "
		    "Patient/<id> or <id> names a patient)", p->name, p->value);
	if (memchr(*v, '/', *vl) != NULL)
		return REFUSE("parameter %s=%s: a reference to another type "
		    "(only Patient/<id> or <id> names a patient)", p->name,
		    p->value);
	return 0;
}

/* The Patient id the value of a compartment parameter (or, for Patient,
 * of _id, a token: a bare id) names. */
static int
value_id(const mdt_scope_param *p, param_kind kind, const char **id,
    size_t *n, char *err, size_t errlen)
{
	const char *v = p->value;
	size_t vl = p->value_len;
	int rc;

	if (kind == PARAM_COMPARTMENT &&
	    (rc = strip_reference(p, &v, &vl, err, errlen)) != 0)
		return rc;
	if (!mdt__fhir_id_ok(v, vl))
		return REFUSE("parameter %s=%s: not a FHIR id (1 to 64 of A-Z "
		    "a-z 0-9 - .)", p->name, p->value);
	*id = v;
	*n = vl;
	return 0;
}

/*
 * Any other parameter whose value is a Patient reference
 * (Condition?subject=Patient/X, Observation?focus=Patient/X) selects by
 * that patient too.  On its own it does not place the search in a
 * compartment (focus is not the subject), but it must agree with the
 * patient the compartment parameters name, and a refusal names it.
 */
static int
other_patient(const mdt_scope_param *p, found *f, char *err, size_t errlen)
{
	const char *v = p->value + PREFIX_LEN;
	size_t n = p->value_len - PREFIX_LEN;

	if (p->value == NULL || p->value_len <= PREFIX_LEN ||
	    memcmp(p->value, PREFIX, PREFIX_LEN) != 0 || !mdt__fhir_id_ok(v, n))
		return 0;
	if (f->other[0] == '\0') {
		memcpy(f->other, v, n);
		f->other[n] = '\0';
		f->other_by = p->name;
		return 0;
	}
	if (names_equal(v, n, f->other))
		return 0;
	f->conflict = 1;
	return REFUSE("parameter %s names patient %s but %s names %.*s",
	    f->other_by, f->other, p->name, (int)n, v);
}

static int
param_patient(const mdt__fhir_type *t, const mdt_scope_request *req,
    const mdt_scope_param *p, found *f, char *err, size_t errlen)
{
	param_kind kind;
	const char *id = NULL;
	size_t n = 0;
	int rc;

	if ((rc = classify(t, p->name, &kind, err, errlen)) != 0)
		return rc;
	if (kind == PARAM_OTHER)
		return other_patient(p, f, err, errlen);
	if (req->id != NULL)
		return REFUSE("parameter %s on the instance %s: a "
		    "read ignores search parameters, so it cannot name the "
		    "patient", p->name, req->id);
	if ((rc = value_id(p, kind, &id, &n, err, errlen)) != 0)
		return rc;
	return agree(f, id, n, p->name, err, errlen);
}

/* Every patient the reference names, into f (all the same one). */
static int
derive(const mdt__fhir_type *t, const mdt_scope_request *req, found *f,
    char *err, size_t errlen)
{
	int rc;

	if (strcmp(t->type, "Patient") == 0 && req->id != NULL &&
	    (rc = agree(f, req->id, strlen(req->id), NULL, err, errlen)) != 0)
		return rc;
	for (size_t i = 0; i < req->nparams; i++)
		if ((rc = param_patient(t, req, &req->params[i], f, err,
		    errlen)) != 0)
			return rc;
	return 0;
}

/* The type's table entry; refuses unknown types. */
static int
type_of(const mdt_scope_request *req, const mdt__fhir_type **out, char *err,
    size_t errlen)
{
	const mdt__fhir_type *t;

	if (req->context == MDT_SCOPE_TOOL)
		return mdt__errmsg(-MDT_EINVAL, err, errlen, "tool/%s is not a "
		    "FHIR resource", req->type);
	if ((*out = mdt__fhir_lookup(req->type)) != NULL)
		return 0;
	if ((t = mdt__fhir_lookup_nocase(req->type)) != NULL)
		return mdt__errmsg(-MDT_EINVAL, err, errlen, "resource type %s: "
		    "types are case-sensitive (%s)", req->type, t->type);
	return REFUSE("resource type %s is not a FHIR R4 type: "
	    "its patient compartment is unknown", req->type);
}

/* A compartment type searched with none of its compartment parameters. */
static int
no_param(const mdt__fhir_type *t, char *err, size_t errlen)
{
	char names[MDT__FHIR_PARAMS_MAX * 20] = "";

	for (size_t k = 0; t->params[k] != NULL; k++) {
		if (k > 0)
			strcat(names, ", ");
		strcat(names, t->params[k]);
	}
	return REFUSE("the %s search names no patient through a compartment "
	    "parameter (%s) and none is claimed", t->type, names);
}

/* The patient of a compartment type, from what was derived and claimed. */
static int
decide(const mdt__fhir_type *t, const mdt_scope_request *req, found *f,
    const char *claimed, mdt_fhir_patient_source *src, char *err,
    size_t errlen)
{
	if (f->id[0] != '\0' && f->other[0] != '\0' &&
	    strcmp(f->id, f->other) != 0 && (f->conflict = 1))
		return REFUSE("%s%s names patient %s but parameter %s names %s",
		    f->by != NULL ? "parameter " : "", f->by != NULL ? f->by :
		    "the id", f->id, f->other_by, f->other);
	if (f->id[0] == '\0' && f->other[0] != '\0' && claimed[0] != '\0' &&
	    strcmp(claimed, f->other) != 0)
		return mdt__errmsg(-MDT_EPATIENT, err, errlen, "parameter %s "
		    "names patient %s but patient %s is claimed", f->other_by,
		    f->other, claimed);
	if (f->id[0] != '\0') {
		if (claimed[0] != '\0' && strcmp(claimed, f->id) != 0)
			return REFUSE("the reference names patient %s (%s%s) "
			    "but patient %s is claimed", f->id, f->by != NULL ? "parameter " :
			    "the id", f->by != NULL ? f->by : "", claimed);
		*src = MDT_FHIR_PATIENT_REFERENCE;
		return 0;
	}
	if (strcmp(t->type, "Patient") == 0)
		return REFUSE("%s: a search across patients (name one with "
		    "Patient/<id>, _id or link)", req->nparams > 0 ?
		    "a Patient search with no _id or link" : "Patient");
	if (claimed[0] == '\0' && req->id != NULL)
		return REFUSE("%s/%s names no patient and none is claimed (an "
		    "instance of a compartment type needs the caller's claim, "
		    "which the resource server checks)", req->type, req->id);
	if (claimed[0] == '\0')
		return no_param(t, err, errlen);
	memcpy(f->id, claimed, strlen(claimed) + 1);
	*src = MDT_FHIR_PATIENT_CLAIMED;
	return 0;
}

static int
finish(const found *f, mdt_fhir_patient_source s, char *out, size_t outlen,
    mdt_fhir_patient_source *src, char *err, size_t errlen)
{
	size_t n = strlen(f->id);

	if (n >= outlen)
		return mdt__errmsg(-MDT_ETOOBIG, err, errlen, "output buffer of "
		    "%zu bytes too small for the patient id", outlen);
	memcpy(out, f->id, n + 1);
	*src = s;
	return 0;
}

/* On a refusal, out gets the one patient the reference names, if any,
 * so that the refusal's record can name it. */
static void
named(const found *f, int rc, char *out, size_t outlen)
{
	const char *id = f->id[0] != '\0' ? f->id : f->other;

	if (rc == -MDT_EPATIENT && !f->conflict && id[0] != '\0' &&
	    strlen(id) < outlen)
		memcpy(out, id, strlen(id) + 1);
}

int
mdt_fhir_patient_of(const char *resource, const char *claimed, char *out,
    size_t outlen, mdt_fhir_patient_source *src, char *err, size_t errlen)
{
	char buf[MDT_SCOPE_REF_MAX + 2 * MDT_SCOPE_PARAMS_MAX + 8];
	mdt_scope_param params[MDT_SCOPE_PARAMS_MAX];
	mdt_scope_request req;
	const mdt__fhir_type *t;
	mdt_fhir_patient_source s = MDT_FHIR_PATIENT_NONE;
	found f = {"", NULL, "", NULL, 0};
	int rc;

	if (resource == NULL || out == NULL || src == NULL)
		return mdt__errmsg(-MDT_EINVAL, err, errlen, "bad arguments");
	if (claimed == NULL)
		claimed = "";
	if (claimed[0] != '\0' && !mdt_fhir_id_valid(claimed))
		return mdt__errmsg(-MDT_EINVAL, err, errlen, "the claimed "
		    "patient is not a FHIR id (1 to 64 of A-Z a-z 0-9 - .)");
	if (mdt_scope_request_parse(resource, &req, buf, sizeof(buf), params,
	    MDT_SCOPE_PARAMS_MAX, err, errlen) != 0)
		return -MDT_EINVAL;
	if ((rc = type_of(&req, &t, err, errlen)) != 0)
		return rc;
	if (t->params[0] != NULL &&
	    ((rc = derive(t, &req, &f, err, errlen)) != 0 ||
	    (rc = decide(t, &req, &f, claimed, &s, err, errlen)) != 0)) {
		named(&f, rc, out, outlen);
		return rc;
	}
	return finish(&f, s, out, outlen, src, err, errlen);
}
