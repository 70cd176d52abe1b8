// The official MCP TypeScript SDK's Streamable HTTP client against
// mandate-mcp serving HTTP (MCP_URL), driven by
// tests/integration/test_mcp_http.c.  Besides the SDK's own use of the
// transport (initialize, session, tools/list, calls, a step-up with
// progress on the POST's SSE stream, list_changed on the GET stream,
// DELETE), it sends raw requests that the transport must refuse.  Each
// check prints `CHECK {"name":..., "pass":..., "detail":...}`;
// `READY-CANCEL` asks the driver to cancel the task (it answers `go`).
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ToolListChangedNotificationSchema } from "@modelcontextprotocol/sdk/types.js";
import { call, cancelTask, check, crashed, finish, stepUp, text } from "./mcp_report.mjs";

const url = new URL(process.env.MCP_URL);
const JSON_SSE = "application/json, text/event-stream";

async function raw(method, headers, body) {
  const r = await fetch(url, { method, headers: { "content-type":
    "application/json", accept: JSON_SSE, ...headers }, body });
  return { status: r.status, text: await r.text() };
}

const listBody = JSON.stringify({ jsonrpc: "2.0", id: 99, method: "tools/list" });

async function transportRules(session) {
  let r = await raw("POST", {}, listBody);
  check("http.no-session", r.status === 400, r);
  r = await raw("POST", { "mcp-session-id": "0".repeat(32) }, listBody);
  check("http.unknown-session", r.status === 404, r);
  r = await raw("POST", { "mcp-session-id": session,
    origin: "http://attacker.example" }, listBody);
  check("http.origin", r.status === 403, r);
  r = await raw("POST", { "mcp-session-id": session, accept: "application/json" },
    listBody);
  check("http.accept", r.status === 406, r);
  r = await raw("POST", { "mcp-session-id": session,
    "mcp-protocol-version": "1999-01-01" }, listBody);
  check("http.protocol-version", r.status === 400, r);
  r = await raw("PUT", { "mcp-session-id": session }, listBody);
  check("http.method", r.status === 405, r);
  r = await raw("POST", { "mcp-session-id": session,
    "mcp-protocol-version": "2025-11-25", origin: `http://localhost:${url.port}` },
    listBody);
  check("http.json-answer", r.status === 200 && JSON.parse(r.text).id === 99, r);
}

async function toolsAndCalls(client) {
  const tools = (await client.listTools()).tools.map((t) => t.name);
  const want = ["echo", "get-sum", "fhir-read", "fhir-search", "export",
    "check-headers"];
  check("list.allowed", want.every((n) => tools.includes(n)), tools);
  check("list.hidden", !tools.includes("get-env") && tools.length === want.length,
    tools);
  let r = await call(client, "echo", { message: "hello over http" });
  check("call.echo", !r.isError && text(r).includes("hello over http"), text(r));
  r = await call(client, "fhir-read",
    { patient: "pat-001", type: "Observation", id: "obs-001-1" });
  check("call.fhir-read", !r.isError && text(r).includes("obs-001-1"), text(r));
  r = await call(client, "check-headers", {});
  const seen = r.isError ? {} : JSON.parse(text(r));
  check("upstream.headers", /^mdt1\./.test(seen.headerToken || "") &&
    /^mdtpop1\./.test(seen.headerProof || "") &&
    seen.headerToken === seen.metaToken && seen.headerProof === seen.metaProof,
    seen);
  r = await call(client, "get-env", {});
  check("refuse.scope", r.isError && text(r).includes("scope.token"), text(r));
  r = await call(client, "fhir-read",
    { patient: "pat-002", type: "Observation", id: "obs-002-1" });
  check("refuse.patient", r.isError && text(r).includes("pat-002"), text(r));
}

async function afterCancel(client, changed) {
  await cancelTask(client, changed);
  const r = await call(client, "echo", { message: "after" });
  check("cancel.refused", r.isError === true, text(r));
}

async function main() {
  const client = new Client({ name: "mandate-mcp-http-test", version: "1.0" });
  let notify;
  const changed = new Promise((r) => { notify = r; });
  client.setNotificationHandler(ToolListChangedNotificationSchema,
    async () => notify(true));
  const transport = new StreamableHTTPClientTransport(url);
  await client.connect(transport);
  const session = transport.sessionId;
  check("initialize", client.getServerCapabilities()?.tools?.listChanged === true &&
    /^[0-9a-f]{32}$/.test(session || ""), session);
  await toolsAndCalls(client);
  await stepUp(client);
  await transportRules(session);
  await afterCancel(client, changed);
  await transport.terminateSession();
  const r = await raw("POST", { "mcp-session-id": session }, listBody);
  check("http.deleted", r.status === 404, r);
  await client.close();
  finish();
}

main().catch(crashed);
