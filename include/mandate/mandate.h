/*
 * Mandate umbrella header.  Only what is declared in include/mandate/ is
 * the supported public interface of libmandate; any other symbol, header
 * or structure layout is internal and may change without notice.
 */
#ifndef MANDATE_MANDATE_H
#define MANDATE_MANDATE_H

#include <mandate/common.h>
#include <mandate/scope.h>
#include <mandate/spiffe.h>
#include <mandate/idp.h>
#include <mandate/policy.h>
#include <mandate/wire.h>
#include <mandate/agent.h>
#include <mandate/audit.h>
#include <mandate/key.h>
#include <mandate/token.h>
#include <mandate/svid.h>
#include <mandate/fhir.h>

#endif /* MANDATE_MANDATE_H */
