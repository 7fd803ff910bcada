// What the gateway refuses at the edge, before anything runs (the subgraphs refuse the same
// in shared/http_guard.py and shared/graphql/error_contract.py). Every refusal is a GraphQL
// error with a code of the catalogue (docs/errors.md):
//  - a body over LIAISON_MAX_BODY_BYTES: 413 PAYLOAD_TOO_LARGE, counted as it arrives
//    (Content-Length only refuses a declared oversize at once; a chunked body or a lying
//    header is cut off at the limit all the same);
//  - a POST to /graphql that is not JSON (forms, multipart/form-data, text/plain and
//    application/graphql: what a browser may post cross-site without a preflight): 415
//    UNSUPPORTED_MEDIA_TYPE. GET stays for queries; graphql-yoga refuses a mutation over GET;
//  - more aliases than LIAISON_GATEWAY_MAX_ALIASES: ALIAS_LIMIT_EXCEEDED (a validation rule;
//    Hive Gateway has no alias limit of its own, and graphql-armor's is not installed);
//  - "Did you mean ...?" suggestions, which spell out the schema, while introspection is off.

import {
  GraphQLError,
  Kind,
  type ASTVisitor,
  type SelectionSetNode,
  type ValidationContext,
} from 'graphql';

const GRAPHQL_MEDIA_TYPES = new Set(['application/json', 'application/graphql-response+json']);

function refusal(fetchAPI: any, status: number, code: string, message: string): Response {
  const body = JSON.stringify({ errors: [{ message, extensions: { code } }] });
  return new fetchAPI.Response(body, { status, headers: { 'content-type': 'application/json' } });
}

// Spreadsheet uploads (files.ts) are streamed on to their subgraph, which reads at most the
// file size it accepts (shared/spreadsheets.py); a larger declared size is refused here.
const FILE_ROUTES = '/files/';
const MAX_FILE_BYTES = 10 * 1024 * 1024;

export function edgeRequests({ maxBodyBytes, graphqlPath }: { maxBodyBytes: number; graphqlPath: string }) {
  const tooLarge = (fetchAPI: any, limit = maxBodyBytes) =>
    refusal(fetchAPI, 413, 'PAYLOAD_TOO_LARGE', `The request body is larger than ${limit} bytes.`);
  return {
    async onRequest({ request, url, setRequest, endResponse, fetchAPI }: any) {
      if (url.pathname.startsWith(FILE_ROUTES)) {
        if (Number(request.headers.get('content-length') ?? 0) > MAX_FILE_BYTES) {
          endResponse(tooLarge(fetchAPI, MAX_FILE_BYTES));
        }
        return;
      }
      if (request.method === 'POST' && url.pathname === graphqlPath) {
        const mediaType = (request.headers.get('content-type') ?? '').split(';')[0].trim().toLowerCase();
        if (!GRAPHQL_MEDIA_TYPES.has(mediaType)) {
          endResponse(
            refusal(
              fetchAPI,
              415,
              'UNSUPPORTED_MEDIA_TYPE',
              'A GraphQL POST must be JSON: send Content-Type: application/json.',
            ),
          );
          return;
        }
      }
      if (!request.body) return;
      if (Number(request.headers.get('content-length') ?? 0) > maxBodyBytes) {
        endResponse(tooLarge(fetchAPI));
        return;
      }
      const reader = request.body.getReader();
      const chunks: Uint8Array[] = [];
      let size = 0;
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        size += value.byteLength;
        if (size > maxBodyBytes) {
          // Not cancelled: that would reset the connection before the answer is written;
          // Node discards the rest of the body once the response has gone.
          reader.releaseLock();
          endResponse(tooLarge(fetchAPI));
          return;
        }
        chunks.push(value);
      }
      const body = new Uint8Array(size);
      let offset = 0;
      for (const chunk of chunks) {
        body.set(chunk, offset);
        offset += chunk.byteLength;
      }
      const headers = new fetchAPI.Headers(request.headers);
      if (/^application\/graphql-response\+json/i.test(headers.get('content-type') ?? '')) {
        headers.set('content-type', 'application/json'); // the same JSON; graphql-yoga reads only this
      }
      setRequest(new fetchAPI.Request(request.url, { method: request.method, headers, body }));
    },
  };
}

// Aliases in an operation, each fragment counted once per spread (fragments are counted once
// and remembered, so nesting them cannot make the count itself expensive).
function aliasLimitRule(limit: number) {
  return (context: ValidationContext): ASTVisitor => {
    const perFragment = new Map<string, number>();
    const count = (selectionSet: SelectionSetNode | undefined, visiting: Set<string>): number => {
      let found = 0;
      for (const selection of selectionSet?.selections ?? []) {
        if (selection.kind === Kind.FIELD) {
          found += (selection.alias ? 1 : 0) + count(selection.selectionSet, visiting);
        } else if (selection.kind === Kind.INLINE_FRAGMENT) {
          found += count(selection.selectionSet, visiting);
        } else {
          const name = selection.name.value;
          if (visiting.has(name)) continue; // a cycle: NoFragmentCyclesRule reports it
          let inFragment = perFragment.get(name);
          if (inFragment === undefined) {
            visiting.add(name);
            inFragment = count(context.getFragment(name)?.selectionSet, visiting);
            visiting.delete(name);
            perFragment.set(name, inFragment);
          }
          found += inFragment;
        }
      }
      return found;
    };
    return {
      OperationDefinition(node) {
        const found = count(node.selectionSet, new Set());
        if (found > limit) {
          context.reportError(
            new GraphQLError(`Aliases limit of ${limit} exceeded, found ${found}.`, {
              nodes: [node],
              extensions: { code: 'ALIAS_LIMIT_EXCEEDED', http: { status: 400 } },
            }),
          );
        }
      },
    };
  };
}

export function aliasLimit(limit: number) {
  const rule = aliasLimitRule(limit); // one rule for every request: validation caches key on it
  return {
    onValidate({ addValidationRule }: any) {
      addValidationRule(rule);
    },
  };
}

// graphql-js ends a message with its suggestions: ` Did you mean "a", "b", or "c"?` (also
// `the enum value "X"`), in validation and in coercing variables alike; all of them go, not
// only the validation errors that graphql-armor's blockFieldSuggestions rewrites.
const SUGGESTION = /\s*Did you mean [^?]*\?$/;

function withoutSuggestion(error: any): any {
  if (typeof error?.message === 'string' && SUGGESTION.test(error.message)) {
    error.message = error.message.replace(SUGGESTION, '');
  }
  return error;
}

function resultWithoutSuggestions(result: any): any {
  if (result && typeof result === 'object' && Array.isArray(result.errors)) {
    result.errors.forEach(withoutSuggestion);
  }
  return result;
}

export const hideSuggestions = {
  onResultProcess({ result }: { result: any }) {
    if (Array.isArray(result)) result.forEach(resultWithoutSuggestions);
    else if (result && typeof result[Symbol.asyncIterator] !== 'function') resultWithoutSuggestions(result);
  },
};

// graphql-js parses recursively: a document nesting brackets a few thousand deep (a list
// value, selections) overflows the stack inside the parser, within the token limit, and would
// be answered as an unexpected error. Nothing a client writes nests anywhere near this deep
// (selections are held to LIAISON_GATEWAY_MAX_DEPTH), so deeper documents are refused, as
// the depth limit refuses them, before the parser sees them.
export function nestingLimit(maxNesting: number) {
  return {
    onParse({ params }: any) {
      const source = typeof params.source === 'string' ? params.source : params.source?.body;
      if (typeof source === 'string' && nestingDepth(source, maxNesting) > maxNesting) {
        throw new GraphQLError(`Depth limit of ${maxNesting} exceeded: the document nests too deep.`, {
          extensions: { code: 'DEPTH_LIMIT_EXCEEDED', http: { status: 400 } },
        });
      }
    },
  };
}

// The deepest nesting of ( [ { in a GraphQL document, outside strings and comments; the scan
// stops once past `stopAt`.
export function nestingDepth(source: string, stopAt = Infinity): number {
  let depth = 0;
  let deepest = 0;
  for (let i = 0; i < source.length && deepest <= stopAt; i++) {
    const c = source[i];
    if (c === '#') {
      while (i < source.length && source[i] !== '\n' && source[i] !== '\r') i++;
    } else if (c === '"') {
      const block = source.startsWith('"""', i);
      i += block ? 3 : 1;
      while (i < source.length && !(block ? source.startsWith('"""', i) : source[i] === '"')) {
        i += source[i] === '\\' ? 2 : 1;
      }
      if (block) i += 2;
    } else if (c === '(' || c === '[' || c === '{') {
      deepest = Math.max(deepest, ++depth);
    } else if (c === ')' || c === ']' || c === '}') {
      depth--;
    }
  }
  return deepest;
}
