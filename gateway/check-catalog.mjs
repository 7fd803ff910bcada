#!/usr/bin/env node
// Validate an AsyncAPI document (the event catalog, shared/events/asyncapi.json) with the
// AsyncAPI Initiative's own parser, and every message example against its message's payload
// schema (the parser checks the document, not its examples), with Ajv.
//
// Usage: node gateway/check-catalog.mjs <file>
// Prints one JSON object, {"diagnostics": [...], "examples": [...]}: the parser's errors and
// warnings, and each example that its payload refuses. Exit 0 when both are empty, 1 if not,
// 3 on a usage error. Development only: the gateway image does not hold these packages.
import { readFileSync } from 'node:fs';
import { Parser } from '@asyncapi/parser';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';

// The parser's severities: 0 error, 1 warning, 2 information, 3 hint.
const REPORTED_SEVERITIES = new Set([0, 1]);

const file = process.argv[2];
if (!file) {
  console.error('usage: check-catalog.mjs <asyncapi.json>');
  process.exit(3);
}

const { document, diagnostics } = await new Parser().parse(readFileSync(file, 'utf8'));
const reported = diagnostics
  .filter((d) => REPORTED_SEVERITIES.has(d.severity))
  .map((d) => ({ severity: d.severity, code: d.code, message: d.message, path: d.path.join('/') }));

// AsyncAPI schemas are JSON Schema with extra keywords (discriminator, x-*): not strict.
const ajv = new Ajv({ strict: false, allErrors: true });
addFormats(ajv);
const refused = [];
for (const message of document?.messages().all() ?? []) {
  const validate = ajv.compile(message.payload().json());
  for (const example of message.examples().all()) {
    if (!validate(example.payload())) {
      refused.push({ message: message.name() ?? message.id(), example: example.name(), errors: validate.errors });
    }
  }
}

console.log(JSON.stringify({ diagnostics: reported, examples: refused }));
process.exit(reported.length || refused.length || !document ? 1 : 0);
