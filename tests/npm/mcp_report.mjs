// What the MCP test clients share: the report lines their C drivers read
// (`CHECK {...}`, `CALLS [...]`, `DONE n`), the calls made, and the
// driver's answers on standard input.
import { createInterface } from "node:readline";

export const calls = [];
let failed = 0;

export function check(name, pass, detail) {
  if (!pass) failed++;
  console.log("CHECK " + JSON.stringify({ name, pass: !!pass, detail }));
}

export function text(res) {
  return (res.content || []).map((c) => c.text || "").join("\n");
}

export async function call(client, name, args, opts = {}) {
  calls.push(name);
  return client.callTool({ name, arguments: args }, undefined,
    { timeout: 120000, ...opts });
}

const waiting = [];
const early = [];
createInterface({ input: process.stdin }).on("line", (l) => {
  const w = waiting.shift();
  if (w) w(l); else early.push(l);
});

// The driver's next line on standard input.
export function nextLine() {
  return early.length ? Promise.resolve(early.shift())
    : new Promise((r) => waiting.push(r));
}

// The export waits for the clinician (the driver approves after a
// pause); the client sees progress while it waits.
export async function stepUp(client) {
  let progress = 0;
  const t0 = Date.now();
  const r = await call(client, "export",
    { patient: "pat-001", destination: "payer-portal" },
    { onprogress: () => { progress++; }, resetTimeoutOnProgress: true });
  const waited = Date.now() - t0;
  check("stepup.wait", !r.isError && text(r).includes("\"sent\"") &&
    progress >= 1 && waited >= 1000, { text: text(r), progress, waited });
}

// Asks the driver to cancel the task; the client is told its list
// changed, and the list is empty.
export async function cancelTask(client, changed) {
  console.log("READY-CANCEL");
  if ((await nextLine()) !== "go") throw new Error("driver said no");
  const ok = await Promise.race([changed,
    new Promise((r) => setTimeout(() => r(false), 30000))]);
  check("cancel.list_changed", ok === true, ok);
  const tools = (await client.listTools()).tools;
  check("cancel.list_empty", tools.length === 0, tools.map((t) => t.name));
}

export function finish() {
  console.log("CALLS " + JSON.stringify(calls));
  console.log("DONE " + failed);
  process.exit(failed ? 1 : 0);
}

export function crashed(e) {
  console.log("CHECK " + JSON.stringify({ name: "client", pass: false,
    detail: String(e && e.stack || e) }));
  process.exit(1);
}
