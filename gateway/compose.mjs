#!/usr/bin/env node
// Compose the Liaison supergraph from the subgraphs' SDL.
//
// Usage (run from anywhere; relative paths resolve against the cwd):
//   node gateway/compose.mjs                 # SDL from services/<name>/schema.graphql, write gateway/supergraph.graphql
//   node gateway/compose.mjs --check         # compose and compare with the committed file (exit 1 if different)
//   node gateway/compose.mjs --fetch         # SDL from the running services via `{ _service { sdl } }`
//   node gateway/compose.mjs --sdl-dir DIR   # SDL from DIR/<name>.graphql
//   node gateway/compose.mjs --service name=path=url [--service ...]   # explicit list (replaces the default four)
//   node gateway/compose.mjs --out FILE      # write/compare FILE instead of gateway/supergraph.graphql
//
// The URL baked into the supergraph (join__graph url) is always the *default* URL
// (or the one given in --service), never an env override: the output must be stable
// so that `--check` passes on every machine. The gateway overrides locations at run
// time from LIAISON_<NAME>_URL (see gateway.config.ts).
//
// Exit codes: 0 ok, 1 --check mismatch, 2 composition failed, 3 usage / input error.
import { readFileSync, writeFileSync, existsSync, renameSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'graphql';
import { composeServices } from '@theguild/federation-composition';

const GATEWAY_DIR = dirname(fileURLToPath(import.meta.url));
const REPO_ROOT = resolve(GATEWAY_DIR, '..');

// name -> default port; must match gateway.config.ts
export const SUBGRAPHS = { requests: 4001, tasks: 4002, issues: 4003, notify: 4004 };
const defaultUrl = (name) => `http://127.0.0.1:${SUBGRAPHS[name]}/graphql`;
const envUrl = (name) => process.env[`LIAISON_${name.toUpperCase()}_URL`] || defaultUrl(name);

function die(code, msg) {
  console.error(`compose: ${msg}`);
  process.exit(code);
}

function parseArgs(argv) {
  const opts = { check: false, fetch: false, sdlDir: null, services: [], out: join(GATEWAY_DIR, 'supergraph.graphql') };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => (i + 1 < argv.length ? argv[++i] : die(3, `${a} needs a value`));
    if (a === '--check') opts.check = true;
    else if (a === '--fetch') opts.fetch = true;
    else if (a === '--sdl-dir') opts.sdlDir = resolve(next());
    else if (a === '--out') opts.out = resolve(next());
    else if (a === '--service') {
      const [name, path, url] = next().split('=');
      if (!name || !path || !url) die(3, `--service wants name=path=url, got ${argv[i]}`);
      opts.services.push({ name, path: resolve(path), url });
    } else if (a === '-h' || a === '--help') {
      console.log(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').slice(1, 17).join('\n'));
      process.exit(0);
    } else die(3, `unknown argument ${a}`);
  }
  return opts;
}

async function fetchSdl(name, url) {
  let res;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ query: '{ _service { sdl } }' }),
      signal: AbortSignal.timeout(10_000),
    });
  } catch (e) {
    die(3, `${name}: cannot reach ${url}: ${e.cause?.message || e.message}`);
  }
  const body = await res.json().catch(() => null);
  const sdl = body?.data?._service?.sdl;
  if (!sdl) die(3, `${name}: no _service.sdl from ${url} (HTTP ${res.status}): ${JSON.stringify(body?.errors || body)}`);
  return sdl;
}

async function loadServices(opts) {
  if (opts.services.length) {
    return opts.services.map((s) => {
      if (!existsSync(s.path)) die(3, `${s.name}: SDL file not found: ${s.path}`);
      return { name: s.name, url: s.url, sdl: readFileSync(s.path, 'utf8') };
    });
  }
  const out = [];
  for (const name of Object.keys(SUBGRAPHS)) {
    let sdl;
    if (opts.fetch) sdl = await fetchSdl(name, envUrl(name));
    else {
      const path = opts.sdlDir ? join(opts.sdlDir, `${name}.graphql`) : join(REPO_ROOT, 'services', name, 'schema.graphql');
      if (!existsSync(path)) die(3, `${name}: SDL file not found: ${path}`);
      sdl = readFileSync(path, 'utf8');
    }
    out.push({ name, url: defaultUrl(name), sdl });
  }
  return out;
}

function compose(services) {
  const defs = services
    .slice()
    .sort((a, b) => a.name.localeCompare(b.name)) // stable order => stable output
    .map(({ name, url, sdl }) => {
      try {
        return { name, url, typeDefs: parse(sdl) };
      } catch (e) {
        die(3, `${name}: SDL does not parse: ${e.message}`);
      }
    });
  const result = composeServices(defs);
  if (result.errors?.length) {
    console.error(`compose: composition failed with ${result.errors.length} error(s):`);
    for (const e of result.errors) console.error(`  - ${e.message}${e.extensions?.code ? ` [${e.extensions.code}]` : ''}`);
    process.exit(2);
  }
  return result.supergraphSdl.trimEnd() + '\n';
}

// Small diff for --check: trims the common head and tail and prints the changed
// middle (capped) with 2 lines of context. Good enough to see what moved.
function shortDiff(oldText, newText) {
  const a = oldText.split('\n');
  const b = newText.split('\n');
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (tail < a.length - head && tail < b.length - head && a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail++;
  const cap = (lines, sign) => [...lines.slice(0, 40).map((l) => `${sign} ${l}`), ...(lines.length > 40 ? [`${sign} ... (${lines.length - 40} more)`] : [])];
  return [
    `--- committed  +++ composed  (from line ${head + 1})`,
    ...a.slice(Math.max(0, head - 2), head).map((l) => `  ${l}`),
    ...cap(a.slice(head, a.length - tail), '-'),
    ...cap(b.slice(head, b.length - tail), '+'),
    ...a.slice(a.length - tail, a.length - tail + 2).map((l) => `  ${l}`),
  ].join('\n');
}

const opts = parseArgs(process.argv.slice(2));
const supergraph = compose(await loadServices(opts));
if (opts.check) {
  const current = existsSync(opts.out) ? readFileSync(opts.out, 'utf8') : '';
  if (current !== supergraph) {
    console.error(`compose: ${opts.out} is out of date (regenerate with: node gateway/compose.mjs)`);
    console.error(current ? shortDiff(current, supergraph) : '(file missing)');
    process.exit(1);
  }
  console.log(`compose: ${opts.out} is up to date`);
} else {
  // Written aside and renamed into place: a gateway watching the file never reads half of it.
  const partial = `${opts.out}.${process.pid}.tmp`;
  writeFileSync(partial, supergraph);
  renameSync(partial, opts.out);
  console.log(`compose: wrote ${opts.out}`);
}
