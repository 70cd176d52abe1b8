/*
 * The FHIR R4 (4.0.1) CompartmentDefinition for Patient as a table: every
 * R4 resource type, with the search parameters that place it in a
 * patient's compartment (http://hl7.org/fhir/R4/compartmentdefinition-
 * patient.html).  Every R4 type is listed so that a type the table does
 * not know is refused rather than taken to be outside the compartment.
 * Also the FHIR id syntax.
 */
#include <stdlib.h>
#include <string.h>

#include "fhir_int.h"

/* Sorted bytewise by type: looked up by binary search. */
static const mdt__fhir_type types[] = {
	{"Account", {"subject", NULL}},
	{"ActivityDefinition", {NULL}},
	{"AdverseEvent", {"subject", NULL}},
	{"AllergyIntolerance", {"patient", "recorder", "asserter", NULL}},
	{"Appointment", {"actor", NULL}},
	{"AppointmentResponse", {"actor", NULL}},
	{"AuditEvent", {"patient", NULL}},
	{"Basic", {"patient", "author", NULL}},
	{"Binary", {NULL}},
	{"BiologicallyDerivedProduct", {NULL}},
	{"BodyStructure", {"patient", NULL}},
	{"Bundle", {NULL}},
	{"CapabilityStatement", {NULL}},
	{"CarePlan", {"patient", "performer", NULL}},
	{"CareTeam", {"patient", "participant", NULL}},
	{"CatalogEntry", {NULL}},
	{"ChargeItem", {"subject", NULL}},
	{"ChargeItemDefinition", {NULL}},
	{"Claim", {"patient", "payee", NULL}},
	{"ClaimResponse", {"patient", NULL}},
	{"ClinicalImpression", {"subject", NULL}},
	{"CodeSystem", {NULL}},
	{"Communication", {"subject", "sender", "recipient", NULL}},
	{"CommunicationRequest",
	    {"subject", "sender", "recipient", "requester", NULL}},
	{"CompartmentDefinition", {NULL}},
	{"Composition", {"subject", "author", "attester", NULL}},
	{"ConceptMap", {NULL}},
	{"Condition", {"patient", "asserter", NULL}},
	{"Consent", {"patient", NULL}},
	{"Contract", {NULL}},
	{"Coverage",
	    {"policy-holder", "subscriber", "beneficiary", "payor", NULL}},
	{"CoverageEligibilityRequest", {"patient", NULL}},
	{"CoverageEligibilityResponse", {"patient", NULL}},
	{"DetectedIssue", {"patient", NULL}},
	{"Device", {NULL}},
	{"DeviceDefinition", {NULL}},
	{"DeviceMetric", {NULL}},
	{"DeviceRequest", {"subject", "performer", NULL}},
	{"DeviceUseStatement", {"subject", NULL}},
	{"DiagnosticReport", {"subject", NULL}},
	{"DocumentManifest", {"subject", "author", "recipient", NULL}},
	{"DocumentReference", {"subject", "author", NULL}},
	{"EffectEvidenceSynthesis", {NULL}},
	{"Encounter", {"patient", NULL}},
	{"Endpoint", {NULL}},
	{"EnrollmentRequest", {"subject", NULL}},
	{"EnrollmentResponse", {NULL}},
	{"EpisodeOfCare", {"patient", NULL}},
	{"EventDefinition", {NULL}},
	{"Evidence", {NULL}},
	{"EvidenceVariable", {NULL}},
	{"ExampleScenario", {NULL}},
	{"ExplanationOfBenefit", {"patient", "payee", NULL}},
	{"FamilyMemberHistory", {"patient", NULL}},
	{"Flag", {"patient", NULL}},
	{"Goal", {"patient", NULL}},
	{"GraphDefinition", {NULL}},
	{"Group", {"member", NULL}},
	{"GuidanceResponse", {NULL}},
	{"HealthcareService", {NULL}},
	{"ImagingStudy", {"patient", NULL}},
	{"Immunization", {"patient", NULL}},
	{"ImmunizationEvaluation", {"patient", NULL}},
	{"ImmunizationRecommendation", {"patient", NULL}},
	{"ImplementationGuide", {NULL}},
	{"InsurancePlan", {NULL}},
	{"Invoice", {"subject", "patient", "recipient", NULL}},
	{"Library", {NULL}},
	{"Linkage", {NULL}},
	{"List", {"subject", "source", NULL}},
	{"Location", {NULL}},
	{"Measure", {NULL}},
	{"MeasureReport", {"patient", NULL}},
	{"Media", {"subject", NULL}},
	{"Medication", {NULL}},
	{"MedicationAdministration", {"patient", "performer", "subject", NULL}},
	{"MedicationDispense", {"subject", "patient", "receiver", NULL}},
	{"MedicationKnowledge", {NULL}},
	{"MedicationRequest", {"subject", NULL}},
	{"MedicationStatement", {"subject", NULL}},
	{"MedicinalProduct", {NULL}},
	{"MedicinalProductAuthorization", {NULL}},
	{"MedicinalProductContraindication", {NULL}},
	{"MedicinalProductIndication", {NULL}},
	{"MedicinalProductIngredient", {NULL}},
	{"MedicinalProductInteraction", {NULL}},
	{"MedicinalProductManufactured", {NULL}},
	{"MedicinalProductPackaged", {NULL}},
	{"MedicinalProductPharmaceutical", {NULL}},
	{"MedicinalProductUndesirableEffect", {NULL}},
	{"MessageDefinition", {NULL}},
	{"MessageHeader", {NULL}},
	{"MolecularSequence", {"patient", NULL}},
	{"NamingSystem", {NULL}},
	{"NutritionOrder", {"patient", NULL}},
	{"Observation", {"subject", "performer", NULL}},
	{"ObservationDefinition", {NULL}},
	{"OperationDefinition", {NULL}},
	{"OperationOutcome", {NULL}},
	{"Organization", {NULL}},
	{"OrganizationAffiliation", {NULL}},
	{"Patient", {"link", NULL}},
	{"PaymentNotice", {NULL}},
	{"PaymentReconciliation", {NULL}},
	{"Person", {"patient", NULL}},
	{"PlanDefinition", {NULL}},
	{"Practitioner", {NULL}},
	{"PractitionerRole", {NULL}},
	{"Procedure", {"patient", "performer", NULL}},
	{"Provenance", {"patient", NULL}},
	{"Questionnaire", {NULL}},
	{"QuestionnaireResponse", {"subject", "author", NULL}},
	{"RelatedPerson", {"patient", NULL}},
	{"RequestGroup", {"subject", "participant", NULL}},
	{"ResearchDefinition", {NULL}},
	{"ResearchElementDefinition", {NULL}},
	{"ResearchStudy", {NULL}},
	{"ResearchSubject", {"individual", NULL}},
	{"RiskAssessment", {"subject", NULL}},
	{"RiskEvidenceSynthesis", {NULL}},
	{"Schedule", {"actor", NULL}},
	{"SearchParameter", {NULL}},
	{"ServiceRequest", {"subject", "performer", NULL}},
	{"Slot", {NULL}},
	{"Specimen", {"subject", NULL}},
	{"SpecimenDefinition", {NULL}},
	{"StructureDefinition", {NULL}},
	{"StructureMap", {NULL}},
	{"Subscription", {NULL}},
	{"Substance", {NULL}},
	{"SubstanceNucleicAcid", {NULL}},
	{"SubstancePolymer", {NULL}},
	{"SubstanceProtein", {NULL}},
	{"SubstanceReferenceInformation", {NULL}},
	{"SubstanceSourceMaterial", {NULL}},
	{"SubstanceSpecification", {NULL}},
	{"SupplyDelivery", {"patient", NULL}},
	{"SupplyRequest", {"subject", NULL}},
	{"Task", {NULL}},
	{"TerminologyCapabilities", {NULL}},
	{"TestReport", {NULL}},
	{"TestScript", {NULL}},
	{"ValueSet", {NULL}},
	{"VerificationResult", {NULL}},
	{"VisionPrescription", {"patient", NULL}},
};

#define NTYPES (sizeof(types) / sizeof(types[0]))

const mdt__fhir_type *
mdt__fhir_types(size_t *n)
{
	*n = NTYPES;
	return types;
}

static int
type_cmp(const void *key, const void *elem)
{
	return strcmp(key, ((const mdt__fhir_type *)elem)->type);
}

const mdt__fhir_type *
mdt__fhir_lookup(const char *type)
{
	if (type == NULL)
		return NULL;
	return bsearch(type, types, NTYPES, sizeof(types[0]), type_cmp);
}

static char
lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c + ('a' - 'A')) : c;
}

int
mdt__fhir_eq_nocase(const char *s, size_t n, const char *word)
{
	if (strlen(word) != n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (lower(s[i]) != lower(word[i]))
			return 0;
	return 1;
}

const mdt__fhir_type *
mdt__fhir_lookup_nocase(const char *type)
{
	size_t n = strlen(type);

	for (size_t i = 0; i < NTYPES; i++)
		if (mdt__fhir_eq_nocase(type, n, types[i].type))
			return &types[i];
	return NULL;
}

int
mdt_fhir_in_patient_compartment(const char *type)
{
	const mdt__fhir_type *t = mdt__fhir_lookup(type);

	return t != NULL && t->params[0] != NULL;
}

int
mdt__fhir_id_ok(const char *s, size_t n)
{
	if (n == 0 || n > MDT_FHIR_ID_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.'))
			return 0;
	}
	return 1;
}

int
mdt_fhir_id_valid(const char *id)
{
	return id != NULL && mdt__fhir_id_ok(id, strnlen(id,
	    MDT_FHIR_ID_MAX + 1));
}
