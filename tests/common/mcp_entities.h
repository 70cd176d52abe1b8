/*
 * The registry entries the MCP gateway's tests and benchmark add to the
 * default entities: the gateway's agent (ceiling and tools), one Cedar
 * action and tool entity per tool, and an orchestrator that may hand the
 * gateway work.  Included by mcp_fixture.c and bench/bench_mcp.c.
 */
#ifndef MCP_ENTITIES_H
#define MCP_ENTITIES_H

#define MCP_AGENT "spiffe://clinic.example/agent/mcp"
#define MCP_ORCH "spiffe://clinic.example/orchestrator"

#define TOOL(n) \
"{\"uid\":{\"type\":\"Mandate::Action\",\"id\":\"" n "\"},\"attrs\":{}," \
" \"parents\":[{\"type\":\"Mandate::Action\",\"id\":\"tool\"}]}," \
"{\"uid\":{\"type\":\"Mandate::Tool\",\"id\":\"" n "\"},\"attrs\":{" \
" \"action\":{\"__entity\":{\"type\":\"Mandate::Action\",\"id\":\"" n "\"}}," \
" \"boundary\":\"none\"},\"parents\":[]},"
#define REF(n) "{\"__entity\":{\"type\":\"Mandate::Tool\",\"id\":\"" n "\"}}"

static const char mcp_entities[] =
"[{\"uid\":{\"type\":\"Mandate::Agent\",\"id\":\"" MCP_AGENT "\"},"
" \"attrs\":{\"kind\":\"mcp-gateway\",\"ceiling\":[\"tool/echo.x\","
"  \"tool/get-sum.x\",\"tool/get-env.x\",\"tool/fhir-read.x\","
"  \"tool/fhir-search.x\",\"tool/export.x\",\"tool/check-headers.x\"],\"allowedTargets\":[],"
"  \"maxDepth\":1,\"maxFanout\":0,\"publicKey\":\"\",\"tools\":["
REF("echo") "," REF("get-sum") "," REF("get-env") "," REF("fhir-read") ","
REF("fhir-search") "," REF("export") "," REF("check-headers") "]},\"parents\":[]},"
TOOL("echo") TOOL("get-sum") TOOL("get-env") TOOL("fhir-read")
TOOL("fhir-search") TOOL("check-headers")
"{\"uid\":{\"type\":\"Mandate::Agent\",\"id\":\"" MCP_ORCH "\"},"
" \"attrs\":{\"kind\":\"orchestrator\",\"ceiling\":[\"patient/*.cruds\","
"  \"tool/*.x\"],\"allowedTargets\":["
"  {\"__entity\":{\"type\":\"Mandate::Agent\",\"id\":\"" MCP_AGENT "\"}}],"
"  \"maxDepth\":0,\"maxFanout\":8,\"tools\":[],\"publicKey\":\"\"},"
" \"parents\":[]}]";

#undef TOOL
#undef REF

#endif
