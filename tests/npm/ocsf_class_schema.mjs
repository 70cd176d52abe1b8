// Derives a JSON Schema (draft-07) for one OCSF event class from the
// OCSF schema's own definition files (a checkout of ocsf/ocsf-schema at a
// release tag): the class with what it extends and includes, every object
// it reaches, the dictionary's types and enums, required attributes and
// the at_least_one / just_one constraints.  Attributes the class or an
// object does not define are refused (additionalProperties: false);
// profile attributes are allowed but never required.
//
//   node ocsf_class_schema.mjs OCSF_DIR CLASS_NAME > CLASS.schema.json
//
// tests/data/ocsf/api_activity-1.3.0.schema.json was made this way from
// the 1.3.0 tag; tests/data/ocsf/NOTICE says where from and under what
// licence.
import fs from 'node:fs';
import path from 'node:path';

const [root, className] = process.argv.slice(2);
if (!root || !className) {
  console.error('usage: node ocsf_class_schema.mjs OCSF_DIR CLASS_NAME');
  process.exit(64);
}
const read = (p) => JSON.parse(fs.readFileSync(path.join(root, p), 'utf8'));
const dictionary = read('dictionary.json');
const dict = dictionary.attributes;
const types = dictionary.types.attributes;
const version = read('version.json').version;

function walk(dir) {
  return fs.readdirSync(path.join(root, dir), { withFileTypes: true })
    .flatMap((e) => e.isDirectory() ? walk(path.join(dir, e.name))
      : e.name.endsWith('.json') ? [path.join(dir, e.name)] : []);
}
const events = Object.fromEntries(walk('events').map((f) => [read(f).name, read(f)]));
const categories = read('categories.json').attributes;

// Attributes of a definition with its $include files merged in; profile
// attributes are marked.
function ownAttributes(def) {
  const out = {};
  for (const inc of def.attributes?.$include ?? []) {
    const profile = inc.startsWith('profiles/');
    for (const [k, v] of Object.entries(read(inc).attributes ?? {}))
      out[k] = { ...v, ...(profile ? { fromProfile: true } : {}) };
  }
  // a definition's own entry with "profile": null takes the attribute
  // out of its profile (the class requires it itself)
  for (const [k, v] of Object.entries(def.attributes ?? {}))
    if (k !== '$include')
      out[k] = { ...(out[k] ?? {}), ...v,
        fromProfile: v.profile === null ? false : (out[k]?.fromProfile ?? false) };
  return out;
}

// A definition merged down its extends chain (parent first).
function resolve(def, lookup) {
  const chain = [];
  for (let d = def; d; d = d.extends ? lookup(d.extends) : null) chain.unshift(d);
  const attrs = {};
  let constraints = {};
  for (const d of chain) {
    for (const [k, v] of Object.entries(ownAttributes(d))) {
      const prev = attrs[k] ?? {};
      const merged = { ...prev, ...v };
      if (prev.enum || v.enum) merged.enum = { ...(prev.enum ?? {}), ...(v.enum ?? {}) };
      attrs[k] = merged;
    }
    if (d.constraints) constraints = d.constraints;
  }
  return { attrs, constraints, chain };
}

function baseType(t) {
  while (types[t]?.type) t = types[t].type;
  return t;
}

const definitions = {};
const objectExists = (n) => fs.existsSync(path.join(root, 'objects', `${n}.json`));
const readObject = (n) => read(path.join('objects', `${n}.json`));

function schemaOf(name, spec) {
  const d = { ...(dict[name] ?? {}), ...spec };
  if (dict[name]?.enum || spec.enum) d.enum = { ...(dict[name]?.enum ?? {}), ...(spec.enum ?? {}) };
  let s;
  const t = d.type;
  if (t === 'object' || t === 'object_t') s = { type: 'object' };
  else if (t && !types[t] && objectExists(t)) {
    defineObject(t);
    s = { $ref: `#/definitions/${t}` };
  } else {
    const b = baseType(t);
    s = { string_t: { type: 'string' }, integer_t: { type: 'integer' },
      long_t: { type: 'integer' }, timestamp_t: { type: 'integer' },
      float_t: { type: 'number' }, boolean_t: { type: 'boolean' },
      json_t: {} }[b];
    if (s === undefined) throw new Error(`${name}: unknown type ${t}`);
    s = { ...s };
    if (types[t]?.regex && b === 'string_t') s.pattern = types[t].regex;
    if (d.enum && (b === 'integer_t' || b === 'string_t'))
      s.enum = Object.keys(d.enum).map((k) => b === 'integer_t' ? Number(k) : k);
  }
  return d.is_array ? { type: 'array', items: s } : s;
}

function objectSchema(attrs, constraints) {
  const properties = {};
  const required = [];
  for (const [k, v] of Object.entries(attrs)) {
    properties[k] = schemaOf(k, v);
    if (v.requirement === 'required' && !v.fromProfile) required.push(k);
  }
  const s = { type: 'object', properties, additionalProperties: false };
  if (required.length) s.required = required.sort();
  if (constraints.at_least_one)
    s.anyOf = constraints.at_least_one.map((k) => ({ required: [k] }));
  if (constraints.just_one)
    s.oneOf = constraints.just_one.map((k) => ({ required: [k] }));
  return s;
}

function defineObject(name) {
  if (definitions[name]) return;
  definitions[name] = {}; // placeholder: objects refer to each other
  const { attrs, constraints } = resolve(readObject(name), readObject);
  definitions[name] = { title: readObject(name).caption, ...objectSchema(attrs, constraints) };
}

const cls = events[className];
if (!cls) throw new Error(`no event class ${className}`);
const { attrs, constraints, chain } = resolve(cls, (n) => events[n]);
const category = chain.map((d) => d.category).filter(Boolean).pop();
const classUid = categories[category].uid * 1000 + cls.uid;
const schema = objectSchema(attrs, constraints);
const activities = Object.keys(attrs.activity_id.enum).map(Number);
schema.properties.category_uid = { const: categories[category].uid };
schema.properties.class_uid = { const: classUid };
schema.properties.type_uid = { enum: activities.map((a) => classUid * 100 + a) };
const out = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: `https://schema.ocsf.io/${version}/classes/${className}`,
  title: `OCSF ${version} ${cls.caption} [${classUid}]`,
  description: `Derived from the OCSF schema ${version} definition files ` +
    '(Apache-2.0) by tests/npm/ocsf_class_schema.mjs.',
  ...schema,
  definitions,
};
process.stdout.write(JSON.stringify(out, null, 1) + '\n');
