"""``./liaison documents register|remove``: the persisted-query manifests of client builds.

A web or mobile build lists every operation it sends in an Apollo persisted-query manifest
(``{"format": "apollo-persisted-query-manifest", "version": 1, "operations": [{"id", "name",
"type", "body"}]}``). Registering it checks every operation against the supergraph the
gateway serves (``gateway/supergraph.graphql``, with graphql-core) and, only when all of them
pass, writes it as ``<name>.json`` into ``LIAISON_PERSISTED_DOCUMENTS_DIR``, the directory
every gateway reads (``gateway/persisted-documents.ts``; docs/trusted-documents.md says how it
reaches a cluster). Registering a name again replaces that build's manifest.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from graphql import GraphQLError, GraphQLSchema, OperationDefinitionNode, build_schema, parse
from graphql import validate as validate_document

from shared.settings import REPO_ROOT, Settings, get_settings

MANIFEST_FORMAT = "apollo-persisted-query-manifest"
SUPERGRAPH = REPO_ROOT / "gateway" / "supergraph.graphql"
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")
"""A manifest's name: a file name, and a key of the Kubernetes ConfigMap that carries it."""
OPERATION_TYPES = ("query", "mutation", "subscription")


class ManifestError(Exception):
    """The manifest was refused; the message lists every problem found."""


@dataclass(frozen=True)
class Operation:
    id: str
    name: str
    type: str
    body: str


def read_manifest(path: Path) -> list[Operation]:
    """The operations of an Apollo persisted-query manifest, or ManifestError."""
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ManifestError(f"{path}: cannot be read as JSON ({exc})") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
        raise ManifestError(f'{path}: "format" must be "{MANIFEST_FORMAT}"')
    if manifest.get("version") != 1:
        raise ManifestError(f'{path}: "version" must be 1')
    operations = manifest.get("operations")
    if not isinstance(operations, list) or not operations:
        raise ManifestError(f'{path}: "operations" must be a non-empty list')
    return [_operation(path, index, entry) for index, entry in enumerate(operations)]


def _operation(path: Path, index: int, entry: Any) -> Operation:
    fields = ("id", "name", "type", "body")
    if not isinstance(entry, dict) or not all(isinstance(entry.get(f), str) for f in fields):
        raise ManifestError(f"{path}: operations[{index}] needs the strings {', '.join(fields)}")
    return Operation(entry["id"], entry["name"], entry["type"], entry["body"])


def operation_problems(schema: GraphQLSchema, operation: Operation) -> list[str]:
    """Why ``operation`` cannot be registered: it must be one named operation of the type and
    name the manifest gives, valid against ``schema``."""
    if not operation.id.strip():
        return ["its id is empty"]
    try:
        document = parse(operation.body)
    except GraphQLError as exc:
        return [f"does not parse: {exc.message}"]
    definitions = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if len(definitions) != 1:
        return [f"its body must hold one operation, not {len(definitions)}"]
    found = definitions[0]
    problems = [error.message for error in validate_document(schema, document)]
    if found.name is None or found.name.value != operation.name:
        problems.append(f"its body names the operation {found.name and found.name.value!r}")
    if found.operation.value != operation.type or operation.type not in OPERATION_TYPES:
        problems.append(f"its body is a {found.operation.value}, not a {operation.type!r}")
    return problems


def registered_documents(directory: Path, *, besides: str) -> dict[str, str]:
    """id -> body of every manifest registered in ``directory`` but ``besides``."""
    documents: dict[str, str] = {}
    for file in sorted(directory.glob("*.json")):
        if file.stem != besides:
            documents.update((op.id, op.body) for op in read_manifest(file))
    return documents


def check_manifest(
    operations: list[Operation], schema: GraphQLSchema, others: dict[str, str]
) -> None:
    """ManifestError listing every operation that cannot be registered, if any."""
    problems, bodies = [], dict(others)
    for index, operation in enumerate(operations):
        label = f"operations[{index}] {operation.name!r} ({operation.id})"
        found = operation_problems(schema, operation)
        if bodies.setdefault(operation.id, operation.body) != operation.body:
            found.append("its id is registered already for another document")
        problems += [f"{label}: {problem}" for problem in found]
    if problems:
        raise ManifestError("\n".join(["the manifest was not registered:", *problems]))


def register(manifest: Path, directory: Path, name: str | None = None) -> Path:
    """Check ``manifest`` and store it as ``<name>.json`` (default: its file's name) in
    ``directory``; nothing is written unless every operation passes."""
    name = name or manifest.stem
    if not NAME.fullmatch(name):
        raise ManifestError(f"{name!r} is no manifest name: letters, digits, '.', '_', '-'")
    operations = read_manifest(manifest)
    schema = build_schema(SUPERGRAPH.read_text(encoding="utf-8"))
    check_manifest(operations, schema, registered_documents(directory, besides=name))
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / f"{name}.json"
    body = {
        "format": MANIFEST_FORMAT,
        "version": 1,
        "operations": [asdict(op) for op in operations],
    }
    # Written beside the target, hidden from the gateway, then renamed: a gateway reading
    # the directory meanwhile sees the old manifest or the new one, never half of one.
    temporary = directory / f".{name}.json.tmp"
    temporary.write_text(json.dumps(body, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(temporary, target)
    return target


def add_commands(commands: Any) -> None:
    """The ``documents`` command and its subcommands, on ``./liaison``'s parser."""
    documents = commands.add_parser("documents", help="register client builds' trusted documents")
    actions = documents.add_subparsers(dest="action", required=True)
    add = actions.add_parser("register", help="check a persisted-query manifest and register it")
    add.add_argument("manifest", type=Path)
    add.add_argument("--name", help="the build's name (default: the manifest's file name)")
    remove = actions.add_parser("remove", help="retire a registered manifest")
    remove.add_argument("name")


def run(args: argparse.Namespace, settings: Settings | None = None) -> int:
    directory = (settings or get_settings()).persisted_documents_dir
    if args.action == "remove":
        target = directory / f"{args.name}.json"
        if not NAME.fullmatch(args.name) or not target.exists():
            print(f"no manifest {args.name!r} is registered in {directory}", file=sys.stderr)
            return 1
        target.unlink()
        print(f"removed {target}")
        return 0
    try:
        target = register(args.manifest, directory, args.name)
    except ManifestError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(f"registered {len(read_manifest(target))} operations as {target}")
    return 0
