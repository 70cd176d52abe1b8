// Checks every expectation of cases.txt against the reference Cedar (its
// wasm build, pinned in package.json): `npm ci && npm run check` here, or
// with the package installed elsewhere:
//   NODE_PATH=<dir>/node_modules node check-with-cedar.mjs
import { createRequire } from 'module';
import fs from 'fs';
import path from 'path';
import { fileURLToPath } from 'url';

const here = path.dirname(fileURLToPath(import.meta.url));
const base = process.env.NODE_PATH ? path.resolve(process.env.NODE_PATH, '..') : here;
const require = createRequire(path.join(base, 'resolve.js'));
const cedar = require('@cedar-policy/cedar-wasm/nodejs');
const text = fs.readFileSync(path.join(here, 'cases.txt'), 'utf8');
const unmark = (s) => s.replace(/<U\+([0-9A-F]{4})>/g, (_, h) => String.fromCodePoint(parseInt(h, 16)));
let bad = 0, n = 0;
for (const block of text.split(/^=== /m).slice(1)) {
  const nl = block.indexOf('\n');
  const [kind, expect, name] = block.slice(0, nl).split(' ');
  const body = unmark(block.slice(nl + 1).replace(/\n$/, ''));
  let r;
  if (kind === 'policies') r = cedar.checkParsePolicySet({ staticPolicies: body });
  else {
    try { r = cedar.checkParseEntities({ entities: JSON.parse(body) }); }
    catch (e) { r = { type: 'failure', errors: [{ message: String(e) }] }; }
  }
  const got = r.type === 'success' ? 'ok' : 'error';
  n++;
  if (got !== expect) { bad++; console.log(`MISMATCH ${kind} ${name}: Cedar says ${got}`, r.errors ? JSON.stringify(r.errors).slice(0, 200) : ''); }
}
console.log(`cedar ${cedar.getCedarVersion()}: ${n - bad}/${n} expectations hold`);
process.exit(bad ? 1 : 0);
