/*
 * Decisions as evidence for other systems: OCSF events (API Activity,
 * ctl_export_ocsf.c) and FHIR R4 AuditEvent resources following IHE
 * BALP (ctl_export_fhir.c), built from the typed decision records the
 * store returns, and the helpers both share (ctl_evidence.c).
 */
#ifndef MDT_CTL_EVIDENCE_H
#define MDT_CTL_EVIDENCE_H

#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

#include <mandate/store.h>

/* The OCSF schema version the events follow. */
#define CTL_OCSF_VERSION "1.3.0"

/*
 * One decision as an OCSF API Activity [6003] event / a FHIR R4
 * AuditEvent.  Returns a new object (caller frees with json_decref), or
 * NULL when out of memory.
 */
json_t *ctl_ocsf_event(const mdt_store_decision *d);
json_t *ctl_fhir_audit_event(const mdt_store_decision *d);

/* A FHIR Bundle (type collection) taking over the resources in entries
 * (a JSON array; its reference is stolen); NULL when out of memory. */
json_t *ctl_fhir_bundle(json_t *entries);

/*
 * A stored JSON field (validated on append) parsed, or dflt parsed
 * when absent or unparsable; new reference (NULL only when out of
 * memory).
 */
json_t *ctl_json_field(const char *text, const char *dflt);

/*
 * Writes j as compact JSON (keys in insertion order) and a newline to f,
 * in one write: jansson's own file output makes one stdio call per
 * token.  0, -MDT_ENOMEM or -MDT_EIO.
 */
int ctl_json_line(FILE *f, const json_t *j);

/* The deny code a decision's reasons name ("failed": CODE), into buf;
 * "" when none. */
void ctl_reason_code(const mdt_store_decision *d, char *buf, size_t len);

/* A readable reason: "CODE: detail" from the reasons object, or the
 * verdict's word; into buf. */
void ctl_reason_text(const mdt_store_decision *d, char *buf, size_t len);

/* The FHIR interaction of a Mandate action letter ("r" -> "read",
 * "s" -> "search-type", ...), or NULL for a tool or task operation. */
const char *ctl_fhir_interaction(const char *action);

/* The acting agent: the last hop of the chain, or d->agent. */
const char *ctl_acting_agent(const mdt_store_decision *d, json_t *chain);

#endif
