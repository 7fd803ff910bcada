// Trusted documents: the operations first-party clients (the web and mobile front ends) send
// are registered ahead of time, per client build, and requests name them by id.
//
// Manifests are Apollo persisted-query manifests (`apollo-persisted-query-manifest`, version
// 1), one JSON file per client build in LIAISON_PERSISTED_DOCUMENTS_DIR, written by
// `./liaison documents register` (devstack/documents.py), which validates every operation
// against the supergraph first. Every gateway replica reads the same directory (in Kubernetes
// a mounted ConfigMap, deploy/k8s/base/gateway.yaml) and reads it again when it changes, so a
// manifest registered while the gateway runs is served within RELOAD_INTERVAL_MS.
//
// A request names a document with Hive's `documentId` (JSON body, or the query string of a
// GET) or Apollo's `extensions.persistedQuery.sha256Hash`; Hive Gateway's `persistedDocuments`
// option looks it up here. An id in no manifest is PERSISTED_QUERY_NOT_FOUND.
//
// With LIAISON_GATEWAY_PERSISTED_DOCUMENTS_ONLY on, a document sent as text runs only for a
// partner client, who writes its own operations within its event scopes; every other caller
// (a person: the first-party clients' users) is refused with PERSISTED_QUERY_NOT_FOUND and
// nothing runs. Only the directory tells a partner client from a person, so the gateway asks
// the requests service (GET /directory/caller, services/requests/directory/caller.py) with the
// caller's token, and remembers the answer for LIAISON_DIRECTORY_CACHE_SECONDS. A document
// sent by id needs no such question.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { GraphQLError } from 'graphql';

type Log = { info: (attrs: object, message: string) => void; error: (attrs: object, message: string) => void };
type TokenLookup = (params: { request: Request; serverContext: any; url: URL }) => any;
type OnParams = { params: any; request: Request; context: any; setResult: (result: any) => void };

const MANIFEST_FORMAT = 'apollo-persisted-query-manifest';
// How often the directory is looked at for changed manifests: one readdir and a stat per file.
const RELOAD_INTERVAL_MS = 1000;
// Callers whose kind is remembered; past it the oldest answers go first.
const CALLERS_REMEMBERED = 10_000;
const LOOKUP_TIMEOUT_MS = 5000;

function refusal(message: string, code: string, status: number): GraphQLError {
  return new GraphQLError(message, { extensions: { code, http: { status } } });
}

const notRegistered = (what: string) =>
  refusal(
    `${what}: this gateway runs only documents registered in a persisted-query manifest. ` +
      'Register the operation with the client build (`./liaison documents register`) and send its id.',
    'PERSISTED_QUERY_NOT_FOUND',
    400,
  );

// --- manifests --------------------------------------------------------------------------

/** Manifest files of `directory`: `*.json`, not hidden (the CLI's temporary files are). */
function manifestFiles(directory: string): string[] {
  try {
    return readdirSync(directory)
      .filter((name) => name.endsWith('.json') && !name.startsWith('.'))
      .sort();
  } catch (error: any) {
    if (error?.code === 'ENOENT') return []; // nothing registered yet
    throw error;
  }
}

/** What changes when a manifest is added, removed or replaced (a ConfigMap's symlink swap too). */
function directoryStamp(directory: string, files: string[]): string {
  return files
    .map((name) => {
      const stat = statSync(join(directory, name));
      return `${name}:${stat.mtimeMs}:${stat.size}`;
    })
    .join('|');
}

/** id -> document text of every operation of `file`; throws naming the file when it is no manifest. */
function readManifest(file: string): Map<string, string> {
  const manifest = JSON.parse(readFileSync(file, 'utf8'));
  if (manifest?.format !== MANIFEST_FORMAT || manifest.version !== 1 || !Array.isArray(manifest.operations)) {
    throw new Error(`${file} is not an Apollo persisted-query manifest ("format": "${MANIFEST_FORMAT}", "version": 1)`);
  }
  const documents = new Map<string, string>();
  for (const operation of manifest.operations) {
    if (typeof operation?.id !== 'string' || typeof operation.body !== 'string') {
      throw new Error(`${file}: every operation needs a string id and body`);
    }
    documents.set(operation.id, operation.body);
  }
  return documents;
}

function readManifests(directory: string, files: string[]): Map<string, string> {
  const documents = new Map<string, string>();
  for (const name of files) {
    for (const [id, body] of readManifest(join(directory, name))) {
      const known = documents.get(id);
      if (known !== undefined && known !== body) throw new Error(`document id ${id} names two different documents (${name})`);
      documents.set(id, body);
    }
  }
  return documents;
}

/** The registered documents by id, kept in step with the directory. */
class DocumentStore {
  private documents: Map<string, string>;
  private stamp: string;

  constructor(
    private readonly directory: string,
    private readonly log: Log,
  ) {
    // At start a broken manifest stops the gateway: better than serving without it.
    const files = manifestFiles(directory);
    this.stamp = directoryStamp(directory, files);
    this.documents = readManifests(directory, files);
    this.announce(files);
    setInterval(() => this.reload(), RELOAD_INTERVAL_MS).unref();
  }

  get(id: string): string | undefined {
    return this.documents.get(id);
  }

  private reload(): void {
    try {
      const files = manifestFiles(this.directory);
      const stamp = directoryStamp(this.directory, files);
      if (stamp === this.stamp) return;
      this.stamp = stamp; // a broken change is reported once, not every interval
      this.documents = readManifests(this.directory, files);
      this.announce(files);
    } catch (error: any) {
      // While the gateway runs, a broken change leaves the documents it had in service.
      this.log.error({ directory: this.directory, error: String(error?.message ?? error) }, 'persisted documents not reloaded');
    }
  }

  private announce(files: string[]): void {
    this.log.info({ directory: this.directory, manifests: files.length, documents: this.documents.size }, 'persisted documents loaded');
  }
}

// --- who is a partner client ------------------------------------------------------------

/** Asks the requests service's directory whether a token's caller is a partner client. */
class PartnerDirectory {
  private readonly answers = new Map<string, { until: number; partner: Promise<boolean> }>();

  constructor(
    private readonly url: URL,
    private readonly gatewaySecret: string,
    private readonly cacheMs: number,
  ) {}

  isPartner(token: string): Promise<boolean> {
    const now = Date.now();
    const known = this.answers.get(token);
    if (known && known.until > now) return known.partner;
    const partner = this.ask(token);
    this.answers.delete(token); // re-inserted last: the Map's order is the age order
    this.answers.set(token, { until: now + this.cacheMs, partner });
    partner.catch(() => this.answers.delete(token)); // a failure is asked again next time
    if (this.answers.size > CALLERS_REMEMBERED) this.answers.delete(this.answers.keys().next().value!);
    return partner;
  }

  private async ask(token: string): Promise<boolean> {
    let response: Response;
    let answer: any;
    try {
      response = await fetch(this.url, {
        headers: { authorization: `Bearer ${token}`, 'x-liaison-gateway-secret': this.gatewaySecret },
        signal: AbortSignal.timeout(LOOKUP_TIMEOUT_MS),
      });
      answer = response.ok ? await response.json() : await response.text();
    } catch {
      throw directoryDown();
    }
    // The directory refuses the caller (unknown, left, disabled): the reason is the client's.
    if (response.status === 401) throw refusal(`Unauthenticated: ${answer}`, 'UNAUTHENTICATED', 401);
    if (!response.ok) throw directoryDown();
    return answer?.partner === true;
  }
}

const directoryDown = () =>
  new GraphQLError('The requests service is not answering; try again shortly.', {
    extensions: { code: 'DOWNSTREAM_SERVICE_ERROR', serviceName: 'requests', http: { status: 502 } },
  });

// --- the gateway's side -----------------------------------------------------------------

export type PersistedDocumentsOptions = {
  /** Where the manifests are (LIAISON_PERSISTED_DOCUMENTS_DIR). */
  directory: string;
  /** Refuse documents sent as text to every caller who is not a partner client. */
  registeredOnly: boolean;
  /** The requests subgraph's GraphQL URL: the directory's route is beside it. */
  requestsUrl: string;
  gatewaySecret: string;
  /** How long a caller's kind is remembered (LIAISON_DIRECTORY_CACHE_SECONDS). */
  cacheSeconds: number;
  /** Where the caller's token is, in the order the JWT plugin looks (header, connection_init). */
  tokenLookups: TokenLookup[];
  log: Log;
};

async function callerToken(lookups: TokenLookup[], request: Request, serverContext: any): Promise<string | undefined> {
  for (const lookup of lookups) {
    const found = await lookup({ request, serverContext, url: new URL(request.url) });
    if (found?.token) return found.token;
  }
  return undefined;
}

// graphql-yoga reads an error's `http` extension (the status) and hides it when it answers
// HTTP; over a WebSocket the extension would reach the client as it is, so it is left out.
function forTransport(error: GraphQLError, context: object): GraphQLError {
  if (!('connectionParams' in context)) return error; // set on every graphql-ws operation
  const { http: _status, ...extensions } = error.extensions;
  return new GraphQLError(error.message, { extensions });
}

// What an unknown id resolves to, so that Hive's plugin goes on and the refusal is answered by
// the plugin below as a result: an error thrown from onParams closes a WebSocket (4500), with
// every subscription on it. It never runs: onParams answers first.
const UNKNOWN_ID = '{ __typename }';

/**
 * `config`, for defineConfig's `persistedDocuments`, and `plugin`, for its plugins. Hive's
 * `allowArbitraryDocuments` callback sees only the HTTP request, and a WebSocket subscription
 * carries its token in connection_init, not in a request header; so documents sent as text are
 * let through there and judged by the plugin's onParams, which sees the operation's context.
 * Hive's onParams runs before the plugins of the config, so by then an id has become its
 * document, and the context it was looked up for says whether it was registered.
 */
export function persistedDocuments(options: PersistedDocumentsOptions) {
  const store = new DocumentStore(options.directory, options.log);
  const partners = new PartnerDirectory(
    new URL('/directory/caller', options.requestsUrl),
    options.gatewaySecret,
    options.cacheSeconds * 1000,
  );
  const byId = new WeakMap<object, boolean>(); // context -> whether its id was registered
  return {
    config: {
      getPersistedOperation(id: string, _request: Request, context: object): string {
        const body = store.get(id);
        byId.set(context, body !== undefined);
        return body ?? UNKNOWN_ID;
      },
      allowArbitraryDocuments: true,
      customErrors: {
        keyNotFound: () =>
          refusal('Send a query, or the id of a registered document as `documentId`.', 'BAD_REQUEST', 400),
      },
    },
    plugin: {
      async onParams({ params, request, context, setResult }: OnParams) {
        const refuse = (error: GraphQLError) => setResult({ errors: [forTransport(error, context)] });
        // Read once: an operation's context is its own (HTTP batching, which would share one
        // between operations, is off).
        const registered = byId.get(context);
        byId.delete(context);
        if (registered === false) return refuse(notRegistered('No registered document has this id'));
        if (registered || !options.registeredOnly || !params.query) return;
        try {
          const token = await callerToken(options.tokenLookups, request, context);
          // No token: the JWT plugin has refused the request already (HTTP) or will (WebSocket).
          if (!token || !(await partners.isPartner(token))) refuse(notRegistered('A document sent as text'));
        } catch (error: any) {
          refuse(error instanceof GraphQLError ? error : directoryDown());
        }
      },
    },
  };
}
