// Debian's chromium, headless, driven by puppeteer-core against a running
// mandate-console (tests/integration/test_console.c starts it over the
// store of a real broker run and passes what it expects in the
// environment).  Each check prints one line
// `CHECK {"name":..., "pass":..., "detail":...}`; the exit status is the
// number of failed checks (2 when the browser could not be driven).
import puppeteer from "puppeteer-core";

const env = process.env;
const base = env.CONSOLE_URL;
let failed = 0;

function check(name, pass, detail) {
  if (!pass) failed++;
  console.log("CHECK " + JSON.stringify({ name, pass: !!pass, detail }));
}

// Requests outside the browser: what an unauthenticated client gets.
async function rawChecks() {
  let r = await fetch(base + "/decisions?patient=x", { redirect: "manual" });
  check("unauthenticated page redirects to sign-in",
    r.status === 303 && r.headers.get("location") === "/login",
    `${r.status} ${r.headers.get("location")}`);
  r = await fetch(base + "/task?id=" + encodeURIComponent(env.TASK),
    { redirect: "manual" });
  const body = await r.text();
  check("unauthenticated task page shows nothing of the task",
    r.status === 303 && !body.includes(env.TASK), `${r.status}`);
  r = await fetch(base + "/", { method: "POST", redirect: "manual",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: "x=1" });
  check("unauthenticated POST is 401", r.status === 401, `${r.status}`);
  const csp = r.headers.get("content-security-policy") || "";
  check("strict CSP on every answer",
    csp.includes("default-src 'none'") && csp.includes("frame-ancestors 'none'"),
    csp);
  // A sign-in without the form's token (another site's form) is refused.
  r = await fetch(base + "/login", { method: "POST", redirect: "manual",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: "credential=" + encodeURIComponent(env.CREDENTIAL) });
  check("sign-in without the form token is refused",
    r.status === 403 && !(r.headers.get("set-cookie") || "").includes("mdt_session="),
    `${r.status}`);
}

async function signIn(page, credential) {
  await page.goto(base + "/", { waitUntil: "load" });
  check("unauthenticated browser lands on the sign-in form",
    new URL(page.url()).pathname === "/login" &&
    (await page.$("#credential")) !== null, page.url());
  await page.type("#credential", credential);
  const nav = page.waitForNavigation({ waitUntil: "load" });
  await page.click("#signin");
  return nav;
}

async function wrongCredential(browser) {
  const ctx = await browser.createBrowserContext();
  const page = await ctx.newPage();
  const resp = await signIn(page, env.CREDENTIAL + "x");
  const cookies = await ctx.cookies(base);
  check("wrong credential is refused",
    resp.status() === 401 && (await page.$("#login-error")) !== null &&
    !cookies.some((c) => c.name === "mdt_session"),
    `${resp.status()} ${cookies.map((c) => c.name)}`);
  const after = await page.goto(base + "/decisions", { waitUntil: "load" });
  check("still signed out after a wrong credential",
    new URL(after.url()).pathname === "/login", after.url());
  await ctx.close();
}

async function text(page) {
  return page.evaluate(() => document.body.innerText);
}

async function filterByPatient(page) {
  await page.goto(base + "/decisions", { waitUntil: "load" });
  await page.type("#f-patient", env.PATIENT);
  await Promise.all([page.waitForNavigation({ waitUntil: "load" }),
    page.click("#apply")]);
  const rows = await page.$$eval("table.decisions tbody tr", (trs) =>
    trs.map((tr) => tr.children[4].innerText));
  check("filter by patient shows only that patient's decisions",
    rows.length >= 3 && rows.every((p) => p === env.PATIENT),
    JSON.stringify(rows.slice(0, 5)));
  const body = await text(page);
  check("the deny reason is on the decisions page",
    body.includes(env.REASON), env.REASON);
  check("the other patient is filtered out", !body.includes(env.OTHER_PATIENT),
    env.OTHER_PATIENT);
}

async function openTask(page) {
  await page.goto(base + "/", { waitUntil: "load" });
  const links = await page.$$eval("#tasks a.task", (as) =>
    as.map((a) => a.textContent));
  check("recent tasks list the task", links.includes(env.TASK),
    JSON.stringify(links));
  await Promise.all([page.waitForNavigation({ waitUntil: "load" }),
    page.click(`#tasks a.task[href="/task?id=${encodeURIComponent(env.TASK)}"]`)]);
  const nodes = await page.$$eval("#graph svg g.node", (gs) =>
    gs.map((g) => g.textContent));
  const all = nodes.join("\n");
  const holders = env.HOLDERS.split(",");
  check("the graph is an SVG picture with a node per hop",
    nodes.length >= holders.length + 1 && holders.every((h) => all.includes(h)),
    `${nodes.length} nodes`);
  check("the graph shows the clinician and patient",
    all.includes(env.CLINICIAN) && all.includes(env.PATIENT), "");
  check("a decision's reason is on the graph", all.includes(env.REASON),
    env.REASON);
  if (env.CONSOLE_SCREENSHOT)
    await page.screenshot({ path: env.CONSOLE_SCREENSHOT, fullPage: true });
  const body = await text(page);
  check("the decision's reason is on the task page", body.includes(env.REASON),
    "");
  const hostile = await page.$$eval("main img, main script, main iframe",
    (els) => els.length);
  check("nothing from the store became markup",
    hostile === 0 && body.includes(env.HOSTILE), `${hostile} elements`);
}

async function reviewPage(page) {
  await page.goto(base + "/review", { waitUntil: "load" });
  const rows = await page.$$eval("#review tbody tr", (trs) =>
    trs.map((tr) => tr.innerText));
  check("the review queue holds the repeated denials with their reason",
    rows.some((r) => r.includes("repeated-denials") && r.includes(env.REASON)),
    `${rows.length} rows`);
}

async function accessPage(page) {
  await page.goto(base + "/access", { waitUntil: "load" });
  await page.type("#f-agent", env.AGENT);
  await page.type("#f-patient", env.PATIENT);
  await Promise.all([page.waitForNavigation({ waitUntil: "load" }),
    page.click("#ask")]);
  const answer = await page.$("#access-answer");
  const body = await text(page);
  const allowed = await page.$$eval("table.access tr.v-allow", (trs) =>
    trs.map((tr) => tr.innerText));
  check("the broker answers the access question",
    answer !== null && body.includes(env.SUBTASK) &&
    allowed.some((r) => r.includes("Observation")),
    allowed.slice(0, 3).join(" | ") || body.slice(0, 300));
}

async function verifyPage(page) {
  await page.goto(base + "/verify", { waitUntil: "load" });
  const status = await page.$eval("#verify-status", (e) => e.textContent);
  check("verification status of the chain", status.startsWith("intact"),
    status);
}

async function main() {
  await rawChecks();
  const browser = await puppeteer.launch({
    executablePath: env.CHROMIUM,
    headless: true,
    args: ["--no-sandbox", "--disable-dev-shm-usage", "--no-first-run",
      "--disable-gpu"],
    timeout: 60000,
    protocolTimeout: 60000,
  });
  try {
    await wrongCredential(browser);
    const page = await browser.newPage();
    page.setDefaultTimeout(30000);
    const resp = await signIn(page, env.CREDENTIAL);
    check("the right credential signs in",
      new URL(resp.url()).pathname === "/" &&
      (await text(page)).includes("Recent tasks"), resp.url());
    const cookie = (await browser.defaultBrowserContext().cookies(base))
      .find((c) => c.name === "mdt_session");
    check("session cookie is HttpOnly and SameSite=Strict",
      cookie && cookie.httpOnly && cookie.sameSite === "Strict",
      cookie ? `httpOnly ${cookie.httpOnly} sameSite ${cookie.sameSite}` : "none");
    await filterByPatient(page);
    await openTask(page);
    await reviewPage(page);
    await accessPage(page);
    await verifyPage(page);
  } finally {
    await browser.close();
  }
}

main().then(() => process.exit(failed), (e) => {
  console.log("CHECK " + JSON.stringify({ name: "browser run", pass: false,
    detail: String(e && e.stack || e) }));
  process.exit(2);
});
