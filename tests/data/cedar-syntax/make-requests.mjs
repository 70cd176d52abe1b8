// Writes requests.jsonl: decision cases in the conformance corpus's format
// (tests/data/cedar-corpus/README.md) for the shapes of cases.txt that load,
// each request's decision, reasons and errors asked of the reference Cedar
// (isAuthorized of @cedar-policy/cedar-wasm, pinned in package.json).
//   npm ci && node make-requests.mjs > requests.jsonl
import { createRequire } from 'module';
import path from 'path';
import { fileURLToPath } from 'url';

const here = path.dirname(fileURLToPath(import.meta.url));
const base = process.env.NODE_PATH ? path.resolve(process.env.NODE_PATH, '..') : here;
const cedar = createRequire(path.join(base, 'resolve.js'))('@cedar-policy/cedar-wasm/nodejs');

const uid = (type, id) => ({ type, id });
const ent = (u, attrs = {}, parents = [], extra = {}) => ({ uid: u, attrs, parents, ...extra });
const range = (n) => Array.from({ length: n }, (_, i) => i);
const U = (id) => uid('User', id), A = (id) => uid('Action', id), D = (id) => uid('Doc', id);
const req = (principal, action, resource, context = {}) => ({ principal, action, resource, context });

const cases = [
  {
    name: 'ws_trailing_commas',
    policies: 'permit(principal,\f action in [Action::"read", Action::"list",],\v resource,)\u2028' +
      'when {\u00a0[1, 2,].contains(context.n) && {a: 1,}.a == 1 };\u3000' +
      'forbid(principal, action, resource) // note\runless { context has ok };',
    entities: [],
    requests: [req(U('a'), A('read'), D('d'), { n: 2, ok: true }), req(U('a'), A('list'), D('d'), { n: 3, ok: true }),
      req(U('a'), A('read'), D('d'), { n: 1 }), req(U('a'), A('write'), D('d'), { n: 1, ok: true })],
  },
  {
    name: 'or_chain_128',
    policies: 'permit(principal, action, resource) when { ' +
      range(128).map((i) => `context.x == ${i}`).join(' || ') + ' };',
    entities: [],
    requests: [req(U('a'), A('r'), D('d'), { x: 127 }), req(U('a'), A('r'), D('d'), { x: 0 }),
      req(U('a'), A('r'), D('d'), { x: 128 }), req(U('a'), A('r'), D('d'), { x: 'no' }), req(U('a'), A('r'), D('d'), {})],
  },
  {
    name: 'and_add_mul_chains',
    policies: 'permit(principal, action, resource) when { ' + range(100).map((i) => `context.x != ${i}`).join(' && ') + ' };\n' +
      'permit(principal, action, resource) when { ' + range(100).map((i) => `${i}`).join(' + ') + ' - context.x == 4950 };\n' +
      'permit(principal, action, resource) when { ' + range(62).map(() => '2').join(' * ') + ' * context.x > 0 };',
    entities: [],
    requests: [req(U('a'), A('r'), D('d'), { x: 0 }), req(U('a'), A('r'), D('d'), { x: 100 }),
      req(U('a'), A('r'), D('d'), { x: 2 }), req(U('a'), A('r'), D('d'), { x: true })],
  },
  {
    name: 'attribute_chains',
    policies: 'permit(principal, action, resource) when { principal.a.b.c.d == 1 };\n' +
      'permit(principal, action, resource) when { principal has a.b.c.e };\n' +
      'forbid(principal, action, resource) when { principal.a["b"].c.d.e };',
    entities: [ent(U('x'), { a: { b: { c: { d: 1 } } } }), ent(U('y'), { a: { b: { c: { d: 2, e: 3 } } } }), ent(U('z'), { a: 1 })],
    requests: [req(U('x'), A('r'), D('d')), req(U('y'), A('r'), D('d')), req(U('z'), A('r'), D('d')), req(U('w'), A('r'), D('d'))],
  },
  {
    name: 'namespaced_action_scope',
    policies: 'permit(principal, action == Clinic::Action::"read", resource);\n' +
      'permit(principal, action in [Action::"list", Clinic::Action::"all"], resource);',
    entities: [ent(uid('Clinic::Action', 'view'), {}, [uid('Clinic::Action', 'all')]), ent(uid('Clinic::Action', 'all'))],
    requests: [req(U('a'), uid('Clinic::Action', 'read'), D('d')), req(U('a'), uid('Clinic::Action', 'view'), D('d')),
      req(U('a'), A('read'), D('d')), req(U('a'), A('list'), D('d'))],
  },
  {
    name: 'escapes_in_their_shape',
    policies: 'permit(principal, action, resource) when { principal.m == User::"b" };\n' +
      'permit(principal, action, resource) when { principal.r has __entity };\n' +
      'permit(principal, action, resource) when { principal.e has __extn };\n' +
      'permit(principal, action, resource) when { principal.q.__expr == 1 && principal.q.y == 2 };\n' +
      'permit(principal, action, resource) when { principal.i.isIpv4() };',
    entities: [ent(U('a'), {
      m: { __entity: { type: 'User', id: 'b', z: 1 } }, r: { __entity: { type: 'User' } },
      e: { __extn: { fn: 'ip' } }, q: { __expr: 1, y: 2 }, i: { __extn: { fn: 'ip', arg: '10.0.0.1', note: 1 } },
    }, [], { extra: true })],
    requests: [req(U('a'), A('r'), D('d'))],
  },
  {
    name: 'hierarchy_diamond_and_depth',
    policies: 'permit(principal in Group::"top", action, resource);\n' +
      'forbid(principal, action, resource) when { principal in [Group::"g150", Group::"nowhere"] };',
    entities: [
      ent(U('a'), {}, [uid('Group', 'l'), uid('Group', 'r')]), ent(uid('Group', 'l'), {}, [uid('Group', 'm')]),
      ent(uid('Group', 'r'), {}, [uid('Group', 'm')]), ent(uid('Group', 'm'), {}, [uid('Group', 'g0')]),
      ...range(200).map((i) => ent(uid('Group', `g${i}`), {}, [uid('Group', i < 199 ? `g${i + 1}` : 'top')])),
      ent(uid('Group', 'top')), ent(U('b'), {}, [uid('Group', 'g151')]),
    ],
    requests: [req(U('a'), A('r'), D('d')), req(U('b'), A('r'), D('d')), req(U('c'), A('r'), D('d')),
      req(uid('Group', 'g199'), A('r'), D('d'))],
  },
  {
    name: 'long_lists',
    policies: 'permit(principal, action, resource) when { principal in [' +
      range(1000).map((i) => `User::"u${i}"`).join(', ') + '] };\n' +
      'permit(principal, action in [' + range(500).map((i) => `Action::"a${i}"`).join(', ') + ',], resource);\n' +
      'permit(principal, action, resource) when { {' + range(500).map((i) => `k${i}: ${i}`).join(', ') + '}.k499 == context.k };',
    entities: [],
    requests: [req(U('u999'), A('z'), D('d')), req(U('v'), A('a499'), D('d')), req(U('v'), A('z'), D('d'), { k: 499 }),
      req(U('v'), A('z'), D('d'))],
  },
];

for (const c of cases) {
  const requests = c.requests.map((r, i) => {
    const ans = cedar.isAuthorized({ ...r, policies: { staticPolicies: c.policies }, entities: c.entities });
    if (ans.type !== 'success') throw new Error(`${c.name}: ${JSON.stringify(ans.errors)}`);
    const d = ans.response;
    return { description: `Request ${i}`, ...r, decision: d.decision,
      reason: d.diagnostics.reason, errors: d.diagnostics.errors.map((e) => e.policyId) };
  });
  console.log(JSON.stringify({ name: `cedar4_${c.name}`, features: ['mandate-cedar-syntax'],
    policies: c.policies, entities: c.entities, requests }));
}
