/*
 * The patient of a FHIR request (mdt_fhir_patient_of): a table of
 * references and claims with the status, source and patient each must
 * give, covering every rule both ways; the R4 compartment table itself;
 * bounds and arguments.
 */
#include <stdio.h>
#include <string.h>

#include <mandate/fhir.h>

#include "fhir_int.h"
#include "testutil.h"

#define REF MDT_FHIR_PATIENT_REFERENCE
#define CLAIM MDT_FHIR_PATIENT_CLAIMED
#define NONE MDT_FHIR_PATIENT_NONE
#define EPAT (-MDT_EPATIENT)
#define EINV (-MDT_EINVAL)

/* 64 and 65 characters: the longest FHIR id, and one too long. */
#define ID64 "a123456789b123456789c123456789d123456789e123456789f123456789g123"
#define ID65 ID64 "4"

typedef struct pcase {
	const char *ref;
	const char *claimed;
	int rc;
	mdt_fhir_patient_source src; /* when rc == 0 */
	const char *patient;         /* when rc == 0 */
	const char *why;             /* when rc != 0: a part of err */
} pcase;

static const pcase cases[] = {
	/* Patient: the id, _id and link name the patient. */
	{"Patient/pat-001", NULL, 0, REF, "pat-001", NULL},
	{"Patient/pat-001", "pat-001", 0, REF, "pat-001", NULL},
	{"Patient/pat-001", "", 0, REF, "pat-001", NULL},
	{"Patient/pat.001-A", NULL, 0, REF, "pat.001-A", NULL},
	{"Patient/" ID64, NULL, 0, REF, ID64, NULL},
	{"Patient?_id=pat-001", NULL, 0, REF, "pat-001", NULL},
	{"Patient?_id=pat-001&name=Rivera", NULL, 0, REF, "pat-001", NULL},
	{"Patient?link=Patient/pat-001", NULL, 0, REF, "pat-001", NULL},
	{"Patient?link=pat-001&_id=pat-001", "pat-001", 0, REF, "pat-001",
	    NULL},
	/* Patient: refusals. */
	{"Patient/pat-001", "pat-002", EPAT, 0, NULL, "claimed"},
	{"Patient?_id=pat-001", "pat-002", EPAT, 0, NULL, "claimed"},
	{"Patient", NULL, EPAT, 0, NULL, "across patients"},
	{"Patient", "pat-001", EPAT, 0, NULL, "across patients"},
	{"Patient?name=Rivera", "pat-001", EPAT, 0, NULL, "across patients"},
	{"Patient?_id=pat-001&link=pat-002", NULL, EPAT, 0, NULL,
	    "names pat-002"},
	{"Patient?_id=Patient/pat-001", NULL, EPAT, 0, NULL,
	    "_id=Patient/pat-001: not a FHIR id"},
	{"Patient?_id:exact=pat-001", NULL, EPAT, 0, NULL, "modifier"},
	{"Patient/pat-001?_id=pat-001", NULL, EPAT, 0, NULL, "instance"},
	{"Patient?_id=pat-001&_revinclude=Provenance:target", NULL, EPAT, 0,
	    NULL, "_revinclude"},
	/* Compartment parameters of compartment types. */
	{"Observation?subject=pat-001", NULL, 0, REF, "pat-001", NULL},
	{"Observation?subject=Patient/pat-001", NULL, 0, REF, "pat-001", NULL},
	{"Observation?subject=Patient/pat-001&code=x", NULL, 0, REF, "pat-001",
	    NULL},
	{"Observation?code=x&subject=pat-001", "pat-001", 0, REF, "pat-001",
	    NULL},
	{"Observation?subject:Patient=pat-001", NULL, 0, REF, "pat-001", NULL},
	{"Observation?subject:Patient=Patient/pat-001", NULL, 0, REF,
	    "pat-001", NULL},
	{"Observation?performer=Patient/pat-001", NULL, 0, REF, "pat-001",
	    NULL},
	{"Observation?subject=pat-001&performer=Patient/pat-001", NULL, 0, REF,
	    "pat-001", NULL},
	{"Observation?_has:Group:member:_id=g1&subject=pat-001", NULL, 0, REF,
	    "pat-001", NULL},
	{"Observation?subject=Patient/" ID64, NULL, 0, REF, ID64, NULL},
	{"Condition?patient=pat-001", NULL, 0, REF, "pat-001", NULL},
	{"Condition?asserter=Patient/pat-001", NULL, 0, REF, "pat-001", NULL},
	{"Encounter?patient=pat-001&date=2026", NULL, 0, REF, "pat-001", NULL},
	{"MedicationRequest?subject=pat-001", NULL, 0, REF, "pat-001", NULL},
	{"AllergyIntolerance?recorder=pat-001", NULL, 0, REF, "pat-001", NULL},
	{"Coverage?policy-holder=Patient/pat-001", NULL, 0, REF, "pat-001",
	    NULL},
	{"Coverage?payor=pat-001", NULL, 0, REF, "pat-001", NULL},
	{"Claim?payee=pat-001", NULL, 0, REF, "pat-001", NULL},
	{"DocumentReference?author=Patient/pat-001", NULL, 0, REF, "pat-001",
	    NULL},
	{"CarePlan?performer=pat-001", NULL, 0, REF, "pat-001", NULL},
	{"Group?member=pat-001", NULL, 0, REF, "pat-001", NULL},
	{"ResearchSubject?individual=pat-001", NULL, 0, REF, "pat-001", NULL},
	/* Claims: instances and searches with no compartment parameter. */
	{"Observation/obs-1", "pat-001", 0, CLAIM, "pat-001", NULL},
	{"Observation/obs-1?_elements=code", "pat-001", 0, CLAIM, "pat-001",
	    NULL},
	{"Observation?code=x", "pat-001", 0, CLAIM, "pat-001", NULL},
	{"Observation", "pat-001", 0, CLAIM, "pat-001", NULL},
	{"Procedure/proc-001-1", "pat-001", 0, CLAIM, "pat-001", NULL},
	/* Types outside the compartment: no patient, claim or not. */
	{"Medication/med-1", NULL, 0, NONE, "", NULL},
	{"Medication/med-1", "pat-001", 0, NONE, "", NULL},
	{"Practitioner?name=x", NULL, 0, NONE, "", NULL},
	{"Organization", NULL, 0, NONE, "", NULL},
	{"Location/loc-1", NULL, 0, NONE, "", NULL},
	{"ValueSet?url=x", NULL, 0, NONE, "", NULL},
	{"Task/t1", NULL, 0, NONE, "", NULL},
	/* No patient derivable, none claimed. */
	{"Observation", NULL, EPAT, 0, NULL, "none is claimed"},
	{"Observation?code=x", NULL, EPAT, 0, NULL, "none is claimed"},
	{"Observation/obs-1", NULL, EPAT, 0, NULL, "none is claimed"},
	{"Observation/obs-1", "", EPAT, 0, NULL, "none is claimed"},
	/* R4's clinical-patient parameter names the patient where defined */
	{"Observation?patient=pat-001", NULL, 0, REF, "pat-001", NULL},
	{"Observation?patient=Patient/pat-001", NULL, 0, REF, "pat-001", NULL},
	{"DiagnosticReport?patient=pat-001&code=x", NULL, 0, REF, "pat-001",
	    NULL},
	{"Observation?patient=pat-001&patient=pat-002", NULL, EPAT, 0, NULL,
	    "names pat-002"},
	{"Observation?patient=pat-001&subject=pat-002", NULL, EPAT, 0, NULL,
	    "names pat-002"},
	{"Observation?patient=pat-001", "pat-002", EPAT, 0, NULL, "claimed"},
	/* ... and nothing where R4 does not define it */
	{"Claim?patient=pat-001", NULL, 0, REF, "pat-001", NULL},
	{"Specimen?patient=pat-001", NULL, EPAT, 0, NULL, "none is claimed"},
	{"Media?patient=pat-001", NULL, EPAT, 0, NULL, "none is claimed"},
	/* Two patients, or reference and claim disagreeing. */
	{"Condition?patient=pat-001&patient=pat-002", NULL, EPAT, 0, NULL,
	    "names pat-002"},
	{"Observation?subject=pat-001&performer=pat-002", NULL, EPAT, 0, NULL,
	    "names pat-002"},
	{"Observation?subject=pat-001", "pat-002", EPAT, 0, NULL, "claimed"},
	{"Observation?subject:Patient=pat-001", "pat-002", EPAT, 0, NULL,
	    "claimed"},
	/* Compartment parameters that do not resolve to one Patient id. */
	{"Observation?subject.name=x", "pat-001", EPAT, 0, NULL, "chained"},
	{"Condition?patient.name=x", NULL, EPAT, 0, NULL, "chained"},
	{"Observation?subject:Patient.name=x", NULL, EPAT, 0, NULL, "chained"},
	{"Observation?subject:Group=g1", NULL, EPAT, 0, NULL, "modifier"},
	{"Observation?subject:missing=true", "pat-001", EPAT, 0, NULL,
	    "modifier"},
	{"Observation?subject:patient=pat-001", NULL, EPAT, 0, NULL,
	    "modifier"},
	{"Observation?subject=Group/g", NULL, EPAT, 0, NULL, "another type"},
	{"Observation?subject=patient/pat-001", NULL, EPAT, 0, NULL,
	    "another type"},
	{"Observation?subject=http://x/Patient/p", NULL, EPAT, 0, NULL,
	    "absolute URL"},
	{"Observation?subject=urn:uuid:1234", NULL, EPAT, 0, NULL,
	    "absolute URL"},
	{"Observation?subject=Patient/", NULL, EPAT, 0, NULL, "not a FHIR id"},
	{"Observation?subject=Patient/" ID65, NULL, EPAT, 0, NULL,
	    "not a FHIR id"},
	{"Observation?subject=" ID65, NULL, EPAT, 0, NULL, "not a FHIR id"},
	{"Observation?subject=Patient/pat-001/_history/1", NULL, EPAT, 0, NULL,
	    "not a FHIR id"},
	{"Observation?subject=pat|001", NULL, EPAT, 0, NULL, "not a FHIR id"},
	{"Observation/obs-1?subject=pat-001", "pat-001", EPAT, 0, NULL,
	    "instance"},
	{"Observation?subject=pat-001&_include=Observation:performer", NULL,
	    EPAT, 0, NULL, "_include"},
	{"Observation?_query=all&subject=pat-001", "pat-001", EPAT, 0, NULL,
	    "named query"},
	{"Foo/1", NULL, EPAT, 0, NULL, "not a FHIR R4 type"},
	{"Foo/1", "pat-001", EPAT, 0, NULL, "not a FHIR R4 type"},
	/* Malformed references and claims, case differences. */
	{"observation/obs-1", NULL, EINV, 0, NULL, "byte 0"},
	{"OBSERVATION/obs-1", "pat-001", EINV, 0, NULL, "case-sensitive"},
	{"PATIENT/pat-002", NULL, EINV, 0, NULL, "case-sensitive"},
	{"Medicationrequest?subject=pat-001", NULL, EINV, 0, NULL,
	    "case-sensitive"},
	{"Observation?Subject=pat-002", "pat-001", EINV, 0, NULL,
	    "case-sensitive"},
	{"Patient/pat-001/_history/1", NULL, EINV, 0, NULL, "byte 15"},
	{"Patient/pat-001/", NULL, EINV, 0, NULL, "byte 15"},
	{"Patient/", NULL, EINV, 0, NULL, "byte 8"},
	{"Patient/" ID65, NULL, EINV, 0, NULL, "byte 8"},
	{"Patient/pat-001#x", NULL, EINV, 0, NULL, "byte 15"},
	{"Observation?subject=pat-001,pat-002", NULL, EINV, 0, NULL, "byte 27"},
	{"Observation?subject=pat-001,pat-001", NULL, EINV, 0, NULL, "byte 27"},
	{"Observation?subject=Patient%2Fpat-001", NULL, EINV, 0, NULL,
	    "byte 27"},
	{"Patient/pat%2D001", NULL, EINV, 0, NULL, "byte 11"},
	{"Observation?subject=", NULL, EINV, 0, NULL, "empty parameter value"},
	{"Observation?", NULL, EINV, 0, NULL, "empty query"},
	{"Observation?subject=pat-001&&code=x", NULL, EINV, 0, NULL,
	    "empty parameter name"},
	{"", NULL, EINV, 0, NULL, "byte 0"},
	{"tool/fax", "pat-001", EINV, 0, NULL, "not a FHIR resource"},
	{"Patient/pat-001", "Patient/pat-001", EINV, 0, NULL, "claimed"},
	{"Observation/obs-1", "pat 001", EINV, 0, NULL, "claimed"},
	{"Observation/obs-1", ID65, EINV, 0, NULL, "claimed"},
};

#define NCASES (sizeof(cases) / sizeof(cases[0]))
_Static_assert(NCASES >= 60, "at least 60 cases");

START_TEST(case_table)
{
	const pcase *c = &cases[_i];
	char out[MDT_FHIR_ID_BUF], err[MDT_ERRMSG_MAX] = "";
	mdt_fhir_patient_source src = (mdt_fhir_patient_source)99;
	int rc;

	memcpy(out, "untouched", 10);
	rc = mdt_fhir_patient_of(c->ref, c->claimed, out, sizeof(out), &src,
	    err, sizeof(err));
	ck_assert_msg(rc == c->rc, "%s (claimed %s): rc %d, want %d: %s",
	    c->ref, c->claimed ? c->claimed : "NULL", rc, c->rc, err);
	if (rc == 0) {
		ck_assert_msg(src == c->src, "%s: source %d, want %d", c->ref,
		    (int)src, (int)c->src);
		ck_assert_str_eq(out, c->patient);
		return;
	}
	ck_assert_msg(strstr(err, c->why) != NULL, "%s: message '%s' lacks "
	    "'%s'", c->ref, err, c->why);
	/* a refusal may name the one patient the reference names */
	ck_assert_msg(strcmp(out, "untouched") == 0 || (rc == -MDT_EPATIENT &&
	    mdt_fhir_id_valid(out)), "%s: out '%s' after rc %d", c->ref, out,
	    rc);
	ck_assert_int_eq((int)src, 99);
}
END_TEST

START_TEST(table_is_sorted_and_complete)
{
	size_t n, in = 0;
	const mdt__fhir_type *t = mdt__fhir_types(&n);

	/* R4 has 145 resource types; 66 can be in a Patient compartment. */
	ck_assert_uint_eq(n, 145);
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			ck_assert_msg(strcmp(t[i - 1].type, t[i].type) < 0,
			    "%s before %s", t[i - 1].type, t[i].type);
		ck_assert_ptr_eq(mdt__fhir_lookup(t[i].type), &t[i]);
		ck_assert_int_eq(mdt_fhir_in_patient_compartment(t[i].type),
		    t[i].params[0] != NULL);
		in += t[i].params[0] != NULL;
		for (size_t k = 0; t[i].params[k] != NULL; k++) {
			char ref[160];
			char out[MDT_FHIR_ID_BUF];
			mdt_fhir_patient_source src;

			/* Every listed parameter names the patient. */
			snprintf(ref, sizeof(ref), "%s?%s=Patient/p-%zu",
			    t[i].type, t[i].params[k], k);
			ck_assert_int_eq(mdt_fhir_patient_of(ref, NULL, out,
			    sizeof(out), &src, NULL, 0), 0);
			ck_assert_int_eq(src, REF);
		}
	}
	ck_assert_uint_eq(in, 66);
}
END_TEST

START_TEST(compartment_membership)
{
	static const char *const yes[] = {"Observation", "Condition",
	    "Encounter", "Patient", "Coverage", "VisionPrescription",
	    "Account", "MedicationRequest"};
	static const char *const no[] = {"Medication", "Practitioner",
	    "Organization", "Location", "ValueSet", "Task", "Foo",
	    "observation", "OBSERVATION", "", "Observation ", "Observatio"};

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		ck_assert_msg(mdt_fhir_in_patient_compartment(yes[i]), "%s",
		    yes[i]);
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		ck_assert_msg(!mdt_fhir_in_patient_compartment(no[i]), "%s",
		    no[i]);
	ck_assert_int_eq(mdt_fhir_in_patient_compartment(NULL), 0);
}
END_TEST

START_TEST(id_syntax)
{
	ck_assert_int_eq(mdt_fhir_id_valid("pat-001"), 1);
	ck_assert_int_eq(mdt_fhir_id_valid("A.b-9"), 1);
	ck_assert_int_eq(mdt_fhir_id_valid(ID64), 1);
	ck_assert_int_eq(mdt_fhir_id_valid(ID65), 0);
	ck_assert_int_eq(mdt_fhir_id_valid(""), 0);
	ck_assert_int_eq(mdt_fhir_id_valid(NULL), 0);
	ck_assert_int_eq(mdt_fhir_id_valid("a_b"), 0);
	ck_assert_int_eq(mdt_fhir_id_valid("a/b"), 0);
	ck_assert_int_eq(mdt_fhir_id_valid("a b"), 0);
	ck_assert_int_eq(mdt_fhir_id_valid("caf\xc3\xa9"), 0);
}
END_TEST

START_TEST(output_bounds_and_arguments)
{
	char out[MDT_FHIR_ID_BUF], small[8], err[MDT_ERRMSG_MAX];
	mdt_fhir_patient_source src;

	/* "pat-001" needs 8 bytes; 7 is too small, 8 is enough. */
	ck_assert_int_eq(mdt_fhir_patient_of("Patient/pat-001", NULL, small, 7,
	    &src, err, sizeof(err)), -MDT_ETOOBIG);
	ck_assert_int_eq(mdt_fhir_patient_of("Patient/pat-001", NULL, small, 8,
	    &src, err, sizeof(err)), 0);
	ck_assert_str_eq(small, "pat-001");
	/* NONE writes "" and needs one byte. */
	ck_assert_int_eq(mdt_fhir_patient_of("Medication/m", NULL, small, 1,
	    &src, err, sizeof(err)), 0);
	ck_assert_str_eq(small, "");
	ck_assert_int_eq(mdt_fhir_patient_of("Medication/m", NULL, small, 0,
	    &src, err, sizeof(err)), -MDT_ETOOBIG);
	ck_assert_int_eq(mdt_fhir_patient_of(NULL, NULL, out, sizeof(out),
	    &src, err, sizeof(err)), -MDT_EINVAL);
	ck_assert_int_eq(mdt_fhir_patient_of("Patient/p", NULL, NULL,
	    sizeof(out), &src, err, sizeof(err)), -MDT_EINVAL);
	ck_assert_int_eq(mdt_fhir_patient_of("Patient/p", NULL, out,
	    sizeof(out), NULL, err, sizeof(err)), -MDT_EINVAL);
	/* No message buffer: the status alone. */
	ck_assert_int_eq(mdt_fhir_patient_of("Observation", NULL, out,
	    sizeof(out), &src, NULL, 0), -MDT_EPATIENT);
	/* A tiny message buffer truncates without overflowing. */
	ck_assert_int_eq(mdt_fhir_patient_of("Observation", NULL, out,
	    sizeof(out), &src, err, 5), -MDT_EPATIENT);
	ck_assert_uint_eq(strlen(err), 4);
}
END_TEST

START_TEST(reference_bounds)
{
	/* A reference longer than MDT_SCOPE_REF_MAX and more parameters than
	 * a request may carry are malformed, never truncated. */
	char ref[1100];
	char out[MDT_FHIR_ID_BUF], err[MDT_ERRMSG_MAX];
	mdt_fhir_patient_source src;
	size_t n = (size_t)snprintf(ref, sizeof(ref), "Observation?subject=p");

	while (n < 1030)
		n += (size_t)snprintf(ref + n, sizeof(ref) - n, "&code=x");
	ck_assert_int_eq(mdt_fhir_patient_of(ref, NULL, out, sizeof(out), &src,
	    err, sizeof(err)), -MDT_EINVAL);
	snprintf(ref, sizeof(ref), "Observation?a=1&b=2&c=3&d=4&e=5&f=6&g=7&"
	    "h=8&subject=pat-002");
	ck_assert_int_eq(mdt_fhir_patient_of(ref, "pat-001", out, sizeof(out),
	    &src, err, sizeof(err)), -MDT_EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "more than 8 parameters"));
}
END_TEST

/* A refusal names the one patient the reference names, for the record;
 * none when it names two, or none. */
START_TEST(refusal_names_the_referenced_patient)
{
	static const struct {
		const char *res, *claimed, *named;
	} named_cases[] = {
		{"Patient/pat-002", "pat-001", "pat-002"},
		{"Observation?subject=pat-002", "pat-001", "pat-002"},
		{"Condition?subject=Patient/pat-002", "pat-001", "pat-002"},
		{"Condition?patient=pat-001&subject=Patient/pat-002", NULL, ""},
		{"Condition?patient=pat-001&patient=pat-002", NULL, ""},
		{"Observation?code=x", NULL, ""},
	};
	char out[MDT_FHIR_ID_BUF], err[MDT_ERRMSG_MAX];
	mdt_fhir_patient_source src;

	for (size_t i = 0; i < sizeof(named_cases) / sizeof(named_cases[0]); i++) {
		out[0] = '\0';
		ck_assert_int_eq(mdt_fhir_patient_of(named_cases[i].res,
		    named_cases[i].claimed, out, sizeof(out), &src, err,
		    sizeof(err)), -MDT_EPATIENT);
		ck_assert_msg(strcmp(out, named_cases[i].named) == 0, "%s: named "
		    "'%s', expected '%s'", named_cases[i].res, out, named_cases[i].named);
	}
}
END_TEST

static Suite *
fhir_suite(void)
{
	Suite *s = suite_create("fhir");
	TCase *tc = tcase_create("patient");

	tcase_add_loop_test(tc, case_table, 0, (int)NCASES);
	tcase_add_test(tc, refusal_names_the_referenced_patient);
	tcase_add_test(tc, table_is_sorted_and_complete);
	tcase_add_test(tc, compartment_membership);
	tcase_add_test(tc, id_syntax);
	tcase_add_test(tc, output_bounds_and_arguments);
	tcase_add_test(tc, reference_bounds);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return mdt_test_run(fhir_suite());
}
