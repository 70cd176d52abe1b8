// The official MCP TypeScript SDK as the client of mandate-mcp, driven by
// tests/integration/test_mcp_gateway.c.  It spawns the gateway (command in
// MANDATE_MCP_CMD, a JSON array) and, for the direct check, the clinic's
// MCP server (CLINIC_MCP_CMD).  Each check prints one line
// `CHECK {"name":..., "pass":..., "detail":...}`; `READY-CANCEL` asks the
// driver to cancel the task, which answers `go` on stdin.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { ToolListChangedNotificationSchema } from "@modelcontextprotocol/sdk/types.js";
import { call, cancelTask, check, crashed, finish, stepUp, text } from "./mcp_report.mjs";

function spawnCmd(env) {
  const argv = JSON.parse(process.env[env]);
  return new StdioClientTransport({ command: argv[0], args: argv.slice(1),
    stderr: "inherit" });
}

async function allowedAndRefused(client) {
  const tools = (await client.listTools()).tools.map((t) => t.name);
  const want = ["echo", "get-sum", "fhir-read", "fhir-search", "export"];
  check("list.allowed", want.every((n) => tools.includes(n)), tools);
  check("list.hidden", !tools.includes("get-env") &&
    !tools.includes("get-tiny-image") && tools.length === want.length, tools);

  let r = await call(client, "echo", { message: "hello mandate" });
  check("call.echo", !r.isError && text(r).includes("hello mandate"), text(r));
  r = await call(client, "get-sum", { a: 2, b: 3 });
  check("call.get-sum", !r.isError && text(r).includes("5"), text(r));
  r = await call(client, "fhir-read",
    { patient: "pat-001", type: "Observation", id: "obs-001-1" });
  check("call.fhir-read", !r.isError && text(r).includes("obs-001-1"), text(r));
  r = await call(client, "fhir-search", { patient: "pat-001", type: "Observation" });
  check("call.fhir-search", !r.isError && JSON.parse(text(r)).total === 3, text(r));

  r = await call(client, "get-env", {});
  check("refuse.scope", r.isError && text(r).includes("scope.token"), text(r));
  r = await call(client, "get-sum", { a: 13, b: 1 });
  check("refuse.policy-args", r.isError && text(r).includes("policy.deny") &&
    text(r).includes("sum-not-13"), text(r));
  r = await call(client, "fhir-read",
    { patient: "pat-002", type: "Observation", id: "obs-002-1" });
  check("refuse.patient", r.isError && text(r).includes("patient") &&
    text(r).includes("pat-002"), text(r));
  r = await call(client, "fhir-read",
    { patient: "pat-001", type: "Observation", id: "obs-002-1" });
  check("refuse.record", text(r).includes("another patient"), text(r));
}

async function direct() {
  const c = new Client({ name: "direct", version: "1.0" });
  await c.connect(spawnCmd("CLINIC_MCP_CMD"));
  const r = await c.callTool({ name: "fhir-read",
    arguments: { patient: "pat-001", type: "Observation", id: "obs-001-1" } });
  check("direct.refused", r.isError && text(r).includes("no Mandate token"), text(r));
  await c.close();
}

async function afterCancel(client, changed) {
  await cancelTask(client, changed);
  for (const [name, args] of [["echo", { message: "after" }],
    ["fhir-read", { patient: "pat-001", type: "Observation", id: "obs-001-1" }]]) {
    const r = await call(client, name, args);
    check("cancel.refused." + name, r.isError === true, text(r));
  }
}

async function main() {
  const client = new Client({ name: "mandate-mcp-test", version: "1.0" });
  let notify;
  const changed = new Promise((r) => { notify = r; });
  client.setNotificationHandler(ToolListChangedNotificationSchema,
    async () => notify(true));
  await client.connect(spawnCmd("MANDATE_MCP_CMD"));
  check("initialize", client.getServerCapabilities()?.tools?.listChanged === true,
    client.getServerVersion());
  await allowedAndRefused(client);
  await stepUp(client);
  await direct();
  await afterCancel(client, changed);
  await client.close();
  finish();
}

main().catch(crashed);
