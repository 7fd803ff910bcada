// Hive Gateway configuration for Liaison.
//
// Launched as:  <node> gateway/node_modules/@graphql-hive/gateway/dist/bin.js supergraph \
//                 <abs>/gateway/supergraph.graphql -c <abs>/gateway/gateway.config.ts --host H --port P
// NB: the CLI lets its own flags AND the env vars HOST / PORT / CONFIG_PATH / FORK / POLLING / JIT
// override this file, so the launcher should pass --host/--port explicitly.
import cluster from 'node:cluster';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  ConsoleLogWriter,
  defineConfig,
  extractFromHeader,
  JSONLogWriter,
  Logger,
} from '@graphql-hive/gateway';
// prom-client is the one the Prometheus plugin registers its metrics with (a dependency of
// @graphql-mesh/plugin-prometheus, hoisted in package-lock.json).
import { register as metricsRegistry } from 'prom-client';
import { eventCatalog } from './catalog.ts';
import { fileRoutes } from './files.ts';
import { costLimit } from './cost.ts';
import { aliasLimit, edgeRequests, hideSuggestions, nestingLimit } from './edge.ts';
import { errorCodes, maskError } from './error-codes.ts';
import { identity } from './identity.ts';
import { rateLimit, redisTarget } from './rate-limit.ts';
import { passthrough } from './passthrough.ts';
import { persistedDocuments } from './persisted-documents.ts';
import { jwtVerifier, wsSessions } from './ws-sessions.ts';

const env = process.env;
const GATEWAY_DIR = dirname(fileURLToPath(import.meta.url));

// Same names/ports as compose.mjs. The supergraph bakes in the default URLs;
// LIAISON_<NAME>_URL overrides them at run time (HTTP and WS alike: the WS URL is
// derived from the location by swapping http:// -> ws://).
const SUBGRAPHS = ['requests', 'tasks', 'issues', 'notify'];

// Secrets: LIAISON_<NAME>, or LIAISON_<NAME>_FILE naming a file that holds it (a mounted
// Kubernetes or compose secret; read now, trailing newline stripped); both at once is an
// error, as in shared/settings.py. Empty means unset.
function secret(name: string): string | undefined {
  const file = env[`${name}_FILE`];
  if (!file) return env[name] || undefined;
  if (env[name]) {
    throw new Error(`both ${name} and ${name}_FILE are set; set only one of them (${name}_FILE names a file holding the value)`);
  }
  let value: string;
  try {
    value = readFileSync(file, 'utf8').replace(/[\r\n]+$/, '');
  } catch (error: any) {
    throw new Error(`${name}_FILE=${file} cannot be read (${error.code ?? error.message}); mount the secret there or unset ${name}_FILE`);
  }
  // The value from now on, for `{env.…}` interpolation and forked workers alike.
  env[name] = value;
  delete env[`${name}_FILE`];
  return value || undefined;
}

// The development secrets, public in this repository (shared/settings.py has the same ones):
// accepted only while the gateway listens on loopback, or with LIAISON_DEV=1.
const DEV_JWT_SECRET = 'dev-only-jwt-secret-change-me-in-production';
const DEV_GATEWAY_SECRET = 'dev-gateway-secret';

// Tokens: keys (the secret, a PEM public key or the identity provider's JWKS), algorithms and
// required claims, by the same rules as shared/tokens.py (identity.ts).
const IDENTITY = identity(env, secret('LIAISON_JWT_SECRET') || DEV_JWT_SECRET, secret('LIAISON_JWT_PUBLIC_KEY'));
// Read back through `{env.…}` interpolation below, so give it its default here.
const GATEWAY_SECRET = (env.LIAISON_GATEWAY_SECRET = secret('LIAISON_GATEWAY_SECRET') || DEV_GATEWAY_SECRET);

// Boolean settings read the words the Python side's settings (pydantic) read, so one
// LIAISON_GRAPHIQL value means the same everywhere; anything else stops start-up, as there.
const TRUE_WORDS = ['1', 'true', 't', 'yes', 'y', 'on'];
const FALSE_WORDS = ['0', 'false', 'f', 'no', 'n', 'off'];
function flag(name: string, fallback: boolean): boolean {
  const raw = env[name]?.trim().toLowerCase();
  if (!raw) return fallback;
  if (TRUE_WORDS.includes(raw)) return true;
  if (FALSE_WORDS.includes(raw)) return false;
  throw new Error(`${name}=${env[name]} is not a boolean (true/false, 1/0, yes/no, on/off)`);
}
// GraphiQL, the landing page and introspection: development aids, off in production.
const GRAPHIQL = flag('LIAISON_GRAPHIQL', false);
// Queries one subgraph answers whole skip the query planner (passthrough.ts).
const PASSTHROUGH = flag('LIAISON_GATEWAY_PASSTHROUGH', true);

// Where the gateway listens: the CLI's --host (or HOST) wins over this file's `host`, so read
// it as the CLI will. The launchers (devstack, the image) pass --host.
function listenHost(): string {
  const argv = process.argv;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--host' || argv[i] === '-h') return argv[i + 1] ?? '';
    if (argv[i].startsWith('--host=')) return argv[i].slice('--host='.length);
  }
  return env.HOST || env.LIAISON_GATEWAY_HOST || '127.0.0.1';
}
const HOST = listenHost();
const isLoopback = (host: string) =>
  /^(localhost|::1|\[::1\]|127\.\d{1,3}\.\d{1,3}\.\d{1,3})$/i.test(host.trim());

// A gateway reachable beyond loopback with a public development secret would accept anyone's
// tokens or tell the subgraphs the development secret: refuse to start (the Python
// processes refuse alike, shared/settings.py). LIAISON_DEV=1 says this is a development machine.
if (!isLoopback(HOST) && !flag('LIAISON_DEV', false)) {
  const unsafe = [
    ...(IDENTITY.sharedSecret === DEV_JWT_SECRET ? ['LIAISON_JWT_SECRET'] : []),
    ...(GATEWAY_SECRET === DEV_GATEWAY_SECRET ? ['LIAISON_GATEWAY_SECRET'] : []),
  ];
  if (unsafe.length) {
    throw new Error(
      `Liaison refuses to start: ${unsafe.join(', ')} ${unsafe.length === 1 ? 'is' : 'are'} empty or still the public ` +
        `development default, and the gateway listens on ${HOST} (--host), beyond loopback. Set ` +
        `${unsafe.map((name) => `${name} (or ${name}_FILE, a file holding it)`).join(' and ')} to the same value ` +
        'the subgraphs have, e.g. from: python -c "import secrets; print(secrets.token_urlsafe(48))". ' +
        'On a development machine, listen on 127.0.0.1 or set LIAISON_DEV=1.',
    );
  }
}

// Limits at the edge (edge.ts).
const MAX_BODY_BYTES = Number(env.LIAISON_MAX_BODY_BYTES || 1_048_576);
const MAX_ALIASES = Number(env.LIAISON_GATEWAY_MAX_ALIASES || 30);
// Query cost (cost.ts): lists without a page size count as the subgraphs' largest page.
const MAX_COST = Number(env.LIAISON_GATEWAY_MAX_COST || 200_000);
const MAX_PAGE = Number(env.LIAISON_GRAPHQL_MAX_PAGE || 100);
// Per-principal rate limits (rate-limit.ts), in Redis, shared by every replica.
const RATE_LIMITS = {
  operations: {
    perMinute: Number(env.LIAISON_GATEWAY_RATE_LIMIT_PER_MINUTE || 600),
    burst: Number(env.LIAISON_GATEWAY_RATE_LIMIT_BURST || 200),
  },
  events: {
    perMinute: Number(env.LIAISON_GATEWAY_EVENTS_RATE_LIMIT_PER_MINUTE || 3000),
    burst: Number(env.LIAISON_GATEWAY_EVENTS_RATE_LIMIT_BURST || 300),
  },
};

// Prometheus /metrics on a port of its own (LIAISON_GATEWAY_METRICS_PORT; 0 or unset: none),
// bound where the gateway listens, never on the public port: only the monitoring namespace
// reaches it (deploy/k8s/base/networkpolicies.yaml). With --fork, each worker shares it.
const METRICS_PORT = Number(env.LIAISON_GATEWAY_METRICS_PORT || 0);
if (METRICS_PORT && (cluster.isWorker || !(Number(env.FORK || 1) > 1))) {
  const metricsServer = createServer((request, response) => {
    if (request.method !== 'GET' || request.url?.split('?')[0] !== '/metrics') {
      response.writeHead(404).end();
      return;
    }
    metricsRegistry.metrics().then(
      (text) => response.writeHead(200, { 'content-type': metricsRegistry.contentType }).end(text),
      () => response.writeHead(500).end(),
    );
  });
  metricsServer.listen(METRICS_PORT, HOST.replace(/^\[|\]$/g, ''));
  metricsServer.unref(); // the gateway's own shutdown decides when the process ends
}

// Logs: JSON lines with the service and region, like the Python processes'
// (LIAISON_LOG_FORMAT, json unless `text`), for the cluster's log collector. The CLI's own
// first lines, before this file is loaded, are JSON when LOG_JSON=1 (the image sets it).
const LOG_JSON = env.LIAISON_LOG_FORMAT !== 'text';
const logger = new Logger({
  level: (env.LIAISON_GATEWAY_LOG_LEVEL as any) || 'info',
  attrs: LOG_JSON ? { service: 'gateway', region: env.LIAISON_REGION || 'hq' } : undefined,
  writers: [LOG_JSON ? new JSONLogWriter() : new ConsoleLogWriter()],
});

const subgraphUrls = Object.fromEntries(SUBGRAPHS.map((name) => [name, env[`LIAISON_${name.toUpperCase()}_URL`]]));
const locationOverrides = Object.fromEntries(
  Object.entries(subgraphUrls).flatMap(([name, url]) => (url ? [[name, { location: url }]] : [])),
);

// What every HTTP call to a subgraph carries: the client's token and the gateway's secret.
const subgraphHeaders = (request: Request | undefined, context: any) => ({
  authorization:
    request?.headers.get('authorization') ||
    (context?.jwt?.token?.value ? `Bearer ${context.jwt.token.value}` : undefined),
  'x-liaison-gateway-secret': GATEWAY_SECRET,
});
const SUPERGRAPH_PATH = join(GATEWAY_DIR, 'supergraph.graphql');
// The supergraph the CLI serves: its positional argument (`supergraph <path>`) wins over the
// config's, so the passthrough reads the file the query planner reads.
function supergraphPath(): string {
  const argv = process.argv;
  const at = argv.indexOf('supergraph');
  const given = at >= 0 ? argv[at + 1] : undefined;
  return given && !given.startsWith('-') ? given : SUPERGRAPH_PATH;
}

// Client token lookup for WebSocket clients of the gateway: graphql-ws clients cannot
// set headers in browsers, so accept `{"authorization": "Bearer <jwt>"}` (any casing of
// the key, "Bearer " prefix optional) in the connection_init payload.
const fromConnectionParams = ({ serverContext }: { serverContext?: any }) => {
  const params = serverContext?.connectionParams;
  if (!params || typeof params !== 'object') return;
  const key = Object.keys(params).find((k) => k.toLowerCase() === 'authorization');
  const raw = key && params[key];
  if (typeof raw !== 'string' || !raw.trim()) return;
  const m = /^Bearer\s+(.+)$/i.exec(raw.trim());
  return { prefix: m ? 'Bearer' : undefined, token: m ? m[1] : raw.trim() };
};

// Files pass through to the subgraph that owns them (files.ts), which authorizes the caller.
const REQUESTS_URL = env.LIAISON_REQUESTS_URL || 'http://127.0.0.1:4001/graphql';
const TASKS_URL = env.LIAISON_TASKS_URL || 'http://127.0.0.1:4002/graphql';
const ISSUES_URL = env.LIAISON_ISSUES_URL || 'http://127.0.0.1:4003/graphql';
const FILES = fileRoutes({
  gatewaySecret: GATEWAY_SECRET,
  routes: [
    { path: /^\/meetings\/[^/]+\/invite\.ics$/, methods: ['GET'], upstream: REQUESTS_URL },
    // calendar feeds: the secret token in the path is the credential (calendar apps send no JWT)
    { path: /^\/calendar\/[^/]+\.ics$/, methods: ['GET'], upstream: REQUESTS_URL },
    { path: /^\/calendar\/[^/]+\/requests\/[^/]+\.ics$/, methods: ['GET'], upstream: REQUESTS_URL },
    // departments and people from a sheet (POST, ?dryRun=true), for ADMINs
    { path: /^\/files\/directory\.xlsx$/, methods: ['POST'], upstream: REQUESTS_URL },
    // a request's RACI matrix (template 2): GET exports, POST imports (?dryRun=true)
    { path: /^\/files\/requests\/[^/]+\/raci\.xlsx$/, methods: ['GET', 'POST'], upstream: TASKS_URL },
    // a period's progress reports (template 3): GET ?start=&end=
    { path: /^\/files\/requests\/[^/]+\/progress-reports\.xlsx$/, methods: ['GET'], upstream: TASKS_URL },
    // the issue log (template 5): GET exports (.xlsx, .csv), POST .xlsx imports
    { path: /^\/files\/issues\.(xlsx|csv)$/, methods: ['GET', 'POST'], upstream: ISSUES_URL },
    // the SLA report of a period, as the slaReport query answers it
    { path: /^\/files\/sla-report\.xlsx$/, methods: ['GET'], upstream: ISSUES_URL },
  ],
});

// Where a caller's token is: `Authorization: Bearer <jwt>`, else the WebSocket connection_init.
const TOKEN_LOOKUPS = [extractFromHeader({ name: 'authorization', prefix: 'Bearer' }), fromConnectionParams];

// Trusted documents (persisted-documents.ts): registered manifests, ids in requests, and with
// LIAISON_GATEWAY_PERSISTED_DOCUMENTS_ONLY documents sent as text from partner clients only.
const PERSISTED = persistedDocuments({
  directory: env.LIAISON_PERSISTED_DOCUMENTS_DIR || join(GATEWAY_DIR, 'persisted-documents'),
  registeredOnly: flag('LIAISON_GATEWAY_PERSISTED_DOCUMENTS_ONLY', false),
  requestsUrl: REQUESTS_URL,
  gatewaySecret: GATEWAY_SECRET,
  cacheSeconds: Number(env.LIAISON_DIRECTORY_CACHE_SECONDS || 2),
  tokenLookups: TOKEN_LOOKUPS,
  log: logger,
});

export const gatewayConfig = defineConfig({
  plugins: () => [
    edgeRequests({ maxBodyBytes: MAX_BODY_BYTES, graphqlPath: '/graphql' }),
    nestingLimit(100), // brackets, before graphql-js' recursive parser (edge.ts)
    PERSISTED.plugin,
    aliasLimit(MAX_ALIASES),
    rateLimit({
      redis: redisTarget(env),
      prefix: env.LIAISON_REDIS_PREFIX || 'liaison',
      limits: RATE_LIMITS,
      log: logger,
    }),
    costLimit({ maxCost: MAX_COST, maxPage: MAX_PAGE }),
    ...(GRAPHIQL ? [] : [hideSuggestions]),
    FILES,
    eventCatalog(), // GET /asyncapi.json, public (catalog.ts)
    errorCodes,
    ...(PASSTHROUGH
      ? [
          passthrough({
            supergraphSdl: readFileSync(supergraphPath(), 'utf8'),
            locations: subgraphUrls,
            headers: (context) => subgraphHeaders(context?.request, context),
            registry: metricsRegistry,
          }),
        ]
      : []),
  ],
  maskedErrors: { maskError },
  persistedDocuments: PERSISTED.config,
  supergraph: SUPERGRAPH_PATH, // the CLI positional arg wins over this (supergraphPath)
  host: env.LIAISON_GATEWAY_HOST || '127.0.0.1',
  port: Number(env.LIAISON_GATEWAY_PORT || 4000),
  graphqlEndpoint: '/graphql',
  logging: logger,
  graphiql: GRAPHIQL,
  landingPage: GRAPHIQL,
  disableIntrospection: GRAPHIQL ? undefined : {},

  // Every request needs a valid JWT (identity.ts): HTTP `Authorization: Bearer <jwt>`, or for
  // WebSocket clients the connection_init payload (see fromConnectionParams).
  jwt: IDENTITY.jwt(TOKEN_LOOKUPS),

  // HTTP upstream requests (queries, mutations, entity fetches): forward the client's
  // Authorization and add the shared gateway secret. This hook only runs for fetch(),
  // i.e. NOT for the WebSocket subscription transport (handled in transportEntries).
  propagateHeaders: {
    fromClientToSubgraphs: ({ request, context }) => subgraphHeaders(request, context),
  },

  transportEntries: {
    ...locationOverrides,
    '*.http': {
      options: {
        // Upstream in-flight dedup merges identical concurrent queries (same body+headers);
        // off so that benchmarks measure the subgraphs, not the gateway's cache.
        deduplicateInflightRequests: false,
        // Strawberry's SSE framing breaks the gateway's parser, so subscriptions go to the
        // subgraphs over graphql-transport-ws on the same URL (http -> ws).
        subscriptions: {
          kind: 'ws',
          // Sent twice, so subgraphs may read either:
          //  - as HTTP headers on the WS upgrade request (lower-case names)
          headers: [
            ['authorization', 'Bearer {context.jwt.token.value}'],
            ['x-liaison-gateway-secret', '{env.LIAISON_GATEWAY_SECRET}'],
          ],
          options: {
            //  - in the graphql-transport-ws connection_init payload
            connectionParams: {
              authorization: 'Bearer {context.jwt.token.value}',
              'x-liaison-gateway-secret': '{env.LIAISON_GATEWAY_SECRET}',
            },
          },
        },
      },
    },
  },

  // Prometheus metrics, served on LIAISON_GATEWAY_METRICS_PORT only (above), not here.
  prometheus: { endpoint: false, registry: metricsRegistry },

  // CSRF prevention (graphql-yoga's): a request with no Content-Type (a GET) or one a
  // cross-site page may send without a CORS preflight runs only with an `x-graphql-csrf`
  // header, which a browser sends cross-site only after a preflight. JSON POSTs pass as
  // they are; the refusal is 403 CSRF_HEADER_MISSING (error-codes.ts).
  csrfPrevention: { requestHeaders: ['x-graphql-csrf'] },

  // Cheap document limits (graphql-armor).
  maxDepth: Number(env.LIAISON_GATEWAY_MAX_DEPTH || 15),
  maxTokens: Number(env.LIAISON_GATEWAY_MAX_TOKENS || 5000),
});

// WebSocket sessions end with their tokens (ws-sessions.ts): a connection_init is acknowledged
// only when the JWT plugin, with the `jwt` options above, accepts its token (else close 4401),
// and the connection closes with 4403 when that token expires.
wsSessions({ verify: jwtVerifier(gatewayConfig.jwt!, logger), log: logger });
