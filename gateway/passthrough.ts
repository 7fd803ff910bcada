// Single-subgraph passthrough: a query whose every field one subgraph resolves on its own is
// sent to that subgraph as the client wrote it, and its `data` is answered as it came back.
//
// Why: the query planner's execution re-resolves every field of the subgraph's answer in
// JavaScript (about 850 fields for a 50-row page of requests), which made the gateway four
// times slower than the subgraph behind it; most screens of a front end ask one service.
//
// When: a query (no mutation, subscription, @defer/@stream or introspection) in which every
// selected field is one that a single subgraph resolves (its `@join__field`, or its type's
// `@join__type` when the field has none), with no `@requires`, `@provides`, `@override` or
// external field, and no interface or union on the way. Everything else, and every answer
// of the subgraph that carries errors, is not 200 or does not arrive, goes through the query
// planner as before (a read runs again there), so error codes, masking and partial answers
// stay the gateway's. The edge limits, the token check and the rate limit have already run:
// they run before execution. The subgraph gets the headers `propagateHeaders` sends.
// Counted in liaison_gateway_passthrough_total{subgraph}; LIAISON_GATEWAY_PASSTHROUGH=false
// turns it off.

import {
  BREAK,
  DocumentNode,
  getNamedType,
  getOperationAST,
  GraphQLSchema,
  isObjectType,
  Kind,
  parse,
  print,
  TypeInfo,
  visit,
  visitWithTypeInfo,
  type ConstDirectiveNode,
  type FieldDefinitionNode,
} from 'graphql';
import { Counter, type Registry } from 'prom-client';

/** Subgraph names by type, then by field: the subgraphs that resolve the field alone. */
type Owners = Map<string, Map<string, Set<string>>>;

const DIRECT = new Set(['skip', 'include']);
const UNSAFE_JOIN_ARGUMENTS = new Set(['requires', 'provides', 'external', 'override', 'usedOverridden']);

function argument(directive: ConstDirectiveNode, name: string): any {
  const found = directive.arguments?.find((a) => a.name.value === name)?.value;
  if (!found) return undefined;
  if (found.kind === Kind.ENUM || found.kind === Kind.STRING) return found.value;
  if (found.kind === Kind.BOOLEAN) return found.value;
  return true; // any other value: present
}

function joins(node: { directives?: readonly ConstDirectiveNode[] }, name: string): ConstDirectiveNode[] {
  return (node.directives ?? []).filter((d) => d.name.value === name);
}

function fieldOwners(field: FieldDefinitionNode, typeGraphs: Set<string>): Set<string> {
  const fields = joins(field, 'join__field');
  if (!fields.length) return typeGraphs;
  const owners = new Set<string>();
  for (const join of fields) {
    const unsafe = (join.arguments ?? []).some(
      (a) => UNSAFE_JOIN_ARGUMENTS.has(a.name.value) && argument(join, a.name.value) !== false,
    );
    if (unsafe) return new Set(); // resolved with another subgraph's help: never alone
    const graph = argument(join, 'graph');
    if (typeof graph === 'string') owners.add(graph);
  }
  return owners;
}

/** Who resolves each field of each object type, and each graph's URL, from the supergraph. */
export function readSupergraph(sdl: string): { owners: Owners; urls: Map<string, string> } {
  const owners: Owners = new Map();
  const urls = new Map<string, string>();
  for (const definition of parse(sdl).definitions) {
    if (definition.kind === Kind.ENUM_TYPE_DEFINITION && definition.name.value === 'join__Graph') {
      for (const value of definition.values ?? []) {
        const [graph] = joins(value, 'join__graph');
        if (graph) urls.set(value.name.value, String(argument(graph, 'url')));
      }
    }
    if (definition.kind !== Kind.OBJECT_TYPE_DEFINITION && definition.kind !== Kind.OBJECT_TYPE_EXTENSION) continue;
    const typeGraphs = new Set(
      joins(definition, 'join__type')
        .map((d) => argument(d, 'graph'))
        .filter((g): g is string => typeof g === 'string'),
    );
    const fields = owners.get(definition.name.value) ?? new Map<string, Set<string>>();
    for (const field of definition.fields ?? []) fields.set(field.name.value, fieldOwners(field, typeGraphs));
    owners.set(definition.name.value, fields);
  }
  return { owners, urls };
}

/** The one graph that resolves every field of the operation alone, or null. */
export function singleGraph(schema: GraphQLSchema, owners: Owners, document: DocumentNode, operationName?: string | null): string | null {
  const operation = getOperationAST(document, operationName);
  if (!operation || operation.operation !== 'query') return null;
  let candidates: Set<string> | null = null;
  const typeInfo = new TypeInfo(schema);
  visit(
    document,
    visitWithTypeInfo(typeInfo, {
      Directive(node) {
        if (!DIRECT.has(node.name.value)) {
          candidates = new Set();
          return BREAK;
        }
        return undefined;
      },
      Field(node) {
        const parent = typeInfo.getParentType();
        const name = node.name.value;
        const named = typeInfo.getType() && getNamedType(typeInfo.getType()!);
        const abstract = named && !isObjectType(named) && 'getFields' in named && !('parseValue' in named);
        if (!parent || !isObjectType(parent) || abstract || (name.startsWith('__') && name !== '__typename')) {
          candidates = new Set();
          return BREAK;
        }
        if (name === '__typename') return undefined;
        const found = owners.get(parent.name)?.get(name) ?? new Set<string>();
        candidates = new Set([...(candidates ?? found)].filter((graph) => found.has(graph)));
        return candidates.size ? undefined : BREAK;
      },
    }),
  );
  const chosen: Set<string> = candidates ?? new Set();
  return chosen.size ? [...chosen].sort()[0] : null;
}

export function passthrough({
  supergraphSdl,
  locations,
  headers,
  registry,
}: {
  supergraphSdl: string;
  /** Subgraph name (lower case, as in LIAISON_<NAME>_URL) to the URL that overrides the supergraph's. */
  locations: Record<string, string | undefined>;
  /** The headers the subgraphs get, from the request's context (as propagateHeaders). */
  headers: (context: any) => Record<string, string | undefined>;
  registry: Registry;
}) {
  const { owners, urls } = readSupergraph(supergraphSdl);
  const graphUrl = (graph: string) => locations[graph.toLowerCase()] || urls.get(graph)!;
  const counted = new Counter({
    name: 'liaison_gateway_passthrough_total',
    help: 'Queries a single subgraph answered whole, passed through without the query planner.',
    labelNames: ['subgraph'],
    registers: [registry],
  });
  // Per parsed document (graphql-yoga caches them): the operation's graph and its text.
  const decided = new WeakMap<DocumentNode, Map<string, { graph: string | null; text: string }>>();

  function decide(schema: GraphQLSchema, document: DocumentNode, operationName?: string | null) {
    let byName = decided.get(document);
    if (!byName) decided.set(document, (byName = new Map()));
    const key = operationName ?? '';
    let found = byName.get(key);
    if (!found) {
      found = { graph: singleGraph(schema, owners, document, operationName), text: print(document) };
      byName.set(key, found);
    }
    return found;
  }

  async function fetchWhole(graph: string, args: any): Promise<Record<string, unknown> | null> {
    const sent = headers(args.contextValue);
    const outgoing: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
    for (const [name, value] of Object.entries(sent)) if (value) outgoing[name] = value;
    const { text } = decide(args.schema, args.document, args.operationName);
    const body = JSON.stringify({ query: text, variables: args.variableValues ?? {}, operationName: args.operationName ?? undefined });
    try {
      // The gateway's own fetch (its HTTP agent, and the onFetch hooks of its metrics and
      // tracing) where the context has it.
      const gatewayFetch = args.contextValue?.fetch ?? fetch;
      const init = { method: 'POST', headers: outgoing, body, signal: args.contextValue?.request?.signal };
      const response = await gatewayFetch(graphUrl(graph), init, args.contextValue);
      if (response.status !== 200) return null;
      const answer = await response.json();
      const whole = answer && typeof answer === 'object' && !('errors' in answer) && answer.data && typeof answer.data === 'object';
      return whole ? answer.data : null;
    } catch {
      return null; // down or unreadable: the query planner answers, with its own error
    }
  }

  return {
    onExecute({ args, executeFn, setExecuteFn }: any) {
      const { graph } = decide(args.schema, args.document, args.operationName);
      if (!graph) return;
      setExecuteFn(async (execArgs: any) => {
        const data = await fetchWhole(graph, execArgs);
        if (data === null) return executeFn(execArgs);
        counted.inc({ subgraph: graph.toLowerCase() });
        return { data };
      });
    },
  };
}
