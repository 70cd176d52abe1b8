/*
 * Mandate umbrella header: libmandate's public interface.  Only what is
 * declared in these headers is supported; any other symbol, header or
 * structure layout is internal and may change without notice.  The
 * agent library, libmandate-agent, has its own header, <mandate/agent.h>,
 * which this one does not include: a program of either library sees
 * only that library's declarations.  The broker protocol's codec is
 * internal (core/wire/include/mandate/wire.h): programs speak to the
 * broker through libmandate-agent.
 */
#ifndef MANDATE_MANDATE_H
#define MANDATE_MANDATE_H

#include <mandate/common.h>
#include <mandate/scope.h>
#include <mandate/spiffe.h>
#include <mandate/idp.h>
#include <mandate/policy.h>
#include <mandate/store.h>
#include <mandate/key.h>
#include <mandate/token.h>
#include <mandate/receipt.h>
#include <mandate/svid.h>
#include <mandate/fhir.h>
#include <mandate/graph.h>

#endif /* MANDATE_MANDATE_H */
