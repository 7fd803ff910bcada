// Every error the gateway answers with carries an `extensions.code` from the catalogue in
// docs/errors.md, as the subgraphs' errors do. A subgraph's code passes through unchanged;
// the gateway codes only what it refuses itself: tokens (the JWT plugin sets no code), the
// document limits of graphql-armor (which word theirs as syntax errors), syntax errors and
// graphql-yoga's CSRF prevention.
// DOWNSTREAM_SERVICE_ERROR, which the gateway sets on an uncoded subgraph error, is then
// left for a subgraph that is down or answered something that is not a coded GraphQL error.
// The refusals at the edge are coded where they are made: PAYLOAD_TOO_LARGE,
// UNSUPPORTED_MEDIA_TYPE, ALIAS_LIMIT_EXCEEDED (edge.ts), COST_LIMIT_EXCEEDED (cost.ts),
// RATE_LIMITED (rate-limit.ts); graphql-yoga's own HTTP refusals (a body
// that is not JSON, a mutation over GET) carry its BAD_REQUEST, which the catalogue lists.

import { GraphQLError } from 'graphql';

type ErrorLike = { message?: string; extensions?: Record<string, any> };

const BY_MESSAGE: Array<[RegExp, string]> = [
  [/^Unauthenticated$|^Invalid authentication token provided$/, 'UNAUTHENTICATED'],
  [/depth limit of \d+ exceeded/i, 'DEPTH_LIMIT_EXCEEDED'],
  [/token limit of \d+ exceeded/i, 'TOKEN_LIMIT_EXCEEDED'],
  [/^Syntax Error:/, 'GRAPHQL_PARSE_FAILED'],
  // graphql-yoga's CSRF prevention (csrfPrevention in gateway.config.ts), which sets no code.
  [/^Required CSRF header\(s\) not present$/, 'CSRF_HEADER_MISSING'],
  // graphql-js' variable coercion errors, which graphql-yoga leaves uncoded.
  [/^Variable "\$[^"]+" (got invalid value|of required type|of non-null type)/, 'BAD_USER_INPUT'],
];

// graphql-armor prefixes its limit messages with "Syntax Error: "; clients read the limit.
const ARMOR_PREFIX = /^Syntax Error: (?=(Query depth|Token) limit)/;

// graphql-yoga codes every syntax error, the limits' included; the limits' codes win.
const OVERRIDABLE = new Set([undefined, 'GRAPHQL_PARSE_FAILED']);

function withCode(error: ErrorLike): ErrorLike {
  const message = error.message ?? '';
  if (!OVERRIDABLE.has(error.extensions?.code)) return error;
  const match = BY_MESSAGE.find(([pattern]) => pattern.test(message));
  if (!match || match[1] === error.extensions?.code) return error;
  // A refused request is the client's mistake: 400 unless the error says otherwise (the JWT
  // plugin's 401); graphql-armor's errors carry no status and would be answered with 500.
  // A new GraphQLError, so that graphql-yoga still reads and then hides the `http` extension.
  const original = error as any;
  return new GraphQLError(message.replace(ARMOR_PREFIX, ''), {
    nodes: original.nodes,
    source: original.source,
    positions: original.positions,
    path: original.path,
    originalError: original.originalError,
    extensions: {
      ...(error.extensions ?? {}),
      code: match[1],
      http: error.extensions?.http ?? { status: 400 },
    },
  });
}

function codeResult(result: any): any {
  if (!result || typeof result !== 'object' || !Array.isArray(result.errors)) return result;
  return { ...result, errors: result.errors.map(withCode) };
}

export const errorCodes = {
  onResultProcess({ result, setResult }: { result: any; setResult: (r: any) => void }) {
    if (Array.isArray(result)) setResult(result.map(codeResult));
    else if (result && typeof result[Symbol.asyncIterator] !== 'function') setResult(codeResult(result));
  },
};

const isGraphQLError = (error: any) => error?.name === 'GraphQLError';

// The gateway's masking: a subgraph that could not be reached (refused, reset, timed out)
// becomes DOWNSTREAM_SERVICE_ERROR naming the service, without the request it was sent;
// any other exception that is not a GraphQL error becomes INTERNAL_SERVER_ERROR.
export function maskError(error: unknown, message: string): Error {
  const e = error as any;
  if (e?.extensions?.code === 'SUBREQUEST_HTTP_ERROR') {
    const service = e.extensions.serviceName ?? 'a';
    return new GraphQLError(`The ${service} service is not answering; try again shortly.`, {
      path: e.path,
      extensions: { code: 'DOWNSTREAM_SERVICE_ERROR', serviceName: e.extensions.serviceName },
    });
  }
  if (isGraphQLError(e) && (!e.originalError || isGraphQLError(e.originalError))) return e;
  return new GraphQLError(message, {
    path: e?.path,
    extensions: { code: 'INTERNAL_SERVER_ERROR' },
  });
}
