// Query cost analysis at the gateway (issue 12, "limits at the edge"): an operation whose
// estimated cost is over LIAISON_GATEWAY_MAX_COST is refused with COST_LIMIT_EXCEEDED before
// anything is fetched from a subgraph. Depth, alias and token limits bound the document; only
// this bounds what the document makes the subgraphs do: 30 aliases of
// `requests(first: 100) { edges { node { tasks(first: 100) { edges { node { id } } } } } }`
// are a short, shallow document asking for 300,000 tasks.
//
// The estimate, over the supergraph's API schema:
//  - every field costs 1;
//  - a field with a `first` argument (a connection) multiplies the cost of its selection by
//    `first` as the subgraph will read it: the value sent (variables resolved, capped at
//    LIAISON_GRAPHQL_MAX_PAGE, above which the subgraph refuses with PAGE_SIZE_EXCEEDED
//    anyway), else the argument's schema default, else the maximum page;
//  - the lists inside such a page (`edges`, `nodes`) are that page: they multiply nothing;
//  - any other list field multiplies its selection by the maximum page, since nothing in the
//    request bounds how many items it has;
//  - a fragment costs what its selection costs, once per spread; aliases are fields like any
//    other; `@skip`/`@include` are not looked at (the estimate only ever errs high);
//  - introspection (`__schema`, `__type`) costs nothing: the gateway answers it from the
//    schema it holds (and it is off unless LIAISON_GRAPHIQL=1).
// Computed at execution, not as a validation rule, because it reads the variables, which
// graphql-yoga's validation cache does not key on.

import {
  getArgumentValues,
  getNamedType,
  getNullableType,
  getVariableValues,
  GraphQLError,
  isInterfaceType,
  isListType,
  isObjectType,
  Kind,
  TypeNameMetaFieldDef,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';

type Estimate = {
  schema: GraphQLSchema;
  fragments: Map<string, FragmentDefinitionNode>;
  variables: Record<string, unknown>;
  maxPage: number;
  perFragment: Map<string, number>; // see fragmentCost
};

function fieldDefinition(parent: GraphQLNamedType, name: string): GraphQLField<unknown, unknown> | undefined {
  if (name === '__typename') return TypeNameMetaFieldDef;
  return isObjectType(parent) || isInterfaceType(parent) ? parent.getFields()[name] : undefined;
}

// How many items `first` asks for; a value that is no count is refused when the field runs.
function pageSize(estimate: Estimate, definition: GraphQLField<unknown, unknown>, node: FieldNode): number {
  let first: unknown;
  try {
    first = getArgumentValues(definition, node, estimate.variables).first;
  } catch {
    return estimate.maxPage; // an invalid argument: execution refuses it, the estimate errs high
  }
  if (typeof first !== 'number' || !Number.isInteger(first)) return estimate.maxPage;
  return Math.min(Math.max(first, 0), estimate.maxPage);
}

function fieldCost(estimate: Estimate, parent: GraphQLNamedType, node: FieldNode, inPage: boolean): number {
  const name = node.name.value;
  if (name === '__schema' || name === '__type') return 0;
  const definition = fieldDefinition(parent, name);
  if (!definition) return 1; // validation has refused unknown fields already
  const type = getNamedType(definition.type);
  if (definition.args.some((arg) => arg.name === 'first')) {
    return 1 + pageSize(estimate, definition, node) * selectionCost(estimate, type, node.selectionSet, true);
  }
  const items = isListType(getNullableType(definition.type)) && !inPage ? estimate.maxPage : 1;
  return 1 + items * selectionCost(estimate, type, node.selectionSet, false);
}

function selectionCost(
  estimate: Estimate,
  parent: GraphQLNamedType,
  selectionSet: SelectionSetNode | undefined,
  inPage: boolean,
): number {
  let cost = 0;
  for (const selection of selectionSet?.selections ?? []) {
    if (selection.kind === Kind.FIELD) {
      cost += fieldCost(estimate, parent, selection, inPage);
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      const condition = selection.typeCondition && estimate.schema.getType(selection.typeCondition.name.value);
      cost += selectionCost(estimate, condition || parent, selection.selectionSet, inPage);
    } else {
      cost += fragmentCost(estimate, selection.name.value, inPage);
    }
  }
  return cost;
}

// A fragment costs the same wherever it is spread (the multipliers of where it is apply
// outside it), given whether it is spread directly in a page: remembered per fragment and
// that, so that fragments spreading fragments cost one pass each, not one per path
// (validation has refused cycles before execution).
function fragmentCost(estimate: Estimate, name: string, inPage: boolean): number {
  const key = `${inPage}:${name}`;
  let cost = estimate.perFragment.get(key);
  if (cost === undefined) {
    const fragment = estimate.fragments.get(name);
    const type = fragment && estimate.schema.getType(fragment.typeCondition.name.value);
    cost = fragment && type ? selectionCost(estimate, type, fragment.selectionSet, inPage) : 0;
    estimate.perFragment.set(key, cost);
  }
  return cost;
}

function selectedOperation(document: DocumentNode, operationName?: string | null): OperationDefinitionNode | undefined {
  const operations = document.definitions.filter(
    (definition): definition is OperationDefinitionNode => definition.kind === Kind.OPERATION_DEFINITION,
  );
  return operationName ? operations.find((operation) => operation.name?.value === operationName) : operations[0];
}

// The variables as execution will see them (defaults applied); when they do not coerce,
// execution refuses them, and the estimate reads the defaults of the schema instead.
function coercedVariables(
  schema: GraphQLSchema,
  operation: OperationDefinitionNode,
  raw: Record<string, unknown> | null | undefined,
): Record<string, unknown> {
  const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], raw ?? {});
  return coerced.coerced ?? {};
}

function operationCost(args: {
  schema: GraphQLSchema;
  document: DocumentNode;
  operationName?: string | null;
  variableValues?: Record<string, unknown> | null;
  maxPage: number;
}): number {
  const operation = selectedOperation(args.document, args.operationName);
  const root = operation && args.schema.getRootType(operation.operation);
  if (!operation || !root) return 0; // nothing runs: execution answers the error
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of args.document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  const estimate: Estimate = {
    schema: args.schema,
    fragments,
    variables: coercedVariables(args.schema, operation, args.variableValues),
    maxPage: args.maxPage,
    perFragment: new Map(),
  };
  return selectionCost(estimate, root, operation.selectionSet, false);
}

function refusal(cost: number, maxCost: number): { errors: GraphQLError[] } {
  const message =
    `The operation's estimated cost is ${cost}, over the maximum of ${maxCost} ` +
    '(each field counts 1, times the page size of every list it is in): ask for smaller pages or fewer fields.';
  return { errors: [new GraphQLError(message, { extensions: { code: 'COST_LIMIT_EXCEEDED', cost, maxCost } })] };
}

export function costLimit({ maxCost, maxPage }: { maxCost: number; maxPage: number }) {
  const check = ({ args, setResultAndStopExecution }: any) => {
    const cost = operationCost({ ...args, maxPage });
    if (cost > maxCost) setResultAndStopExecution(refusal(cost, maxCost));
  };
  return { onExecute: check, onSubscribe: check };
}
