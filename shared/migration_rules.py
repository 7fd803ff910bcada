"""Expand, then contract: a migration must not break the release that is still running.

During a rollout the previous release's pods serve next to the new ones, on a database the
new release has already migrated. So a migration added since the last release may only
*expand* the schema (new tables, nullable columns or columns with a default, indexes), never
take away what the previous release reads or writes. Taking away is a *contract* step, one
release later than the code that stopped using it:

* ``DROP TABLE``, ``DROP COLUMN``, a ``RENAME`` and ``ALTER COLUMN ... TYPE`` must name what
  they remove on a ``-- contract: <table>.<column>`` line (``<table>`` alone for a table), and
  the previous release's code must not mention that name: its commit is in the baseline, and
  the name is looked up, as a whole word, in every Python file of that commit outside the
  migrations and the tests. The test is deliberately blunt (a common name such as ``status``
  can never be dropped this way): a false refusal costs a review, a missed one an outage.
* ``SET NOT NULL`` and a new ``NOT NULL`` column without a default break the previous
  release's inserts unless it already writes the column: they need an
  ``-- always written: <table>.<column>`` line, which says a reviewer checked that it does.

The baseline (``deploy/release.json``) lists the migrations of the last release and its
commit; ``python -m shared.migration_rules`` checks the tree against it (exit 1 on a
violation), ``--release VERSION`` records the current commit and migrations as the release.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from shared.settings import REPO_ROOT

BASELINE_PATH = REPO_ROOT / "deploy" / "release.json"

_REMOVING = re.compile(
    r"\bDROP\s+(?:TABLE|COLUMN)\b|\bRENAME\b|\bALTER\s+COLUMN\s+\w+\s+(?:SET\s+DATA\s+)?TYPE\b",
    re.IGNORECASE,
)
_NOT_NULL = re.compile(
    r"\bSET\s+NOT\s+NULL\b|\bADD\s+(?:COLUMN\s+)?(?!CONSTRAINT\b)\w+\s+[^,;]*?\bNOT\s+NULL\b(?![^,;]*\bDEFAULT\b)",
    re.IGNORECASE,
)
_CONTRACT = re.compile(r"^\s*--\s*contract:\s*(\S+)", re.IGNORECASE | re.MULTILINE)
_ALWAYS_WRITTEN = re.compile(r"^\s*--\s*always written:\s*(\S+)", re.IGNORECASE | re.MULTILINE)
_COMMENT = re.compile(r"--[^\n]*")


@dataclass(frozen=True)
class Violation:
    migration: str
    problem: str

    def __str__(self) -> str:
        return f"{self.migration}: {self.problem}"


def migration_paths(root: Path = REPO_ROOT) -> list[Path]:
    """Every migration file of the project (the services' and the shared ones)."""
    folders = [*root.glob("services/*/migrations"), *root.glob("shared/*migrations")]
    return sorted(p for folder in folders for p in folder.glob("*.sql") if p.name[:4].isdigit())


def released_code_mentions(root: Path, commit: str, name: str) -> list[str]:
    """The Python files of ``commit`` outside migrations and tests that mention ``name``."""
    found = subprocess.run(
        ["git", "grep", "-l", "-w", "-F", name, commit, "--", "*.py", ":!tests/**"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    if found.returncode not in (0, 1):  # 1: no match
        raise RuntimeError(f"git grep at the released commit {commit}: {found.stderr.strip()}")
    return found.stdout.split()


def check_migration(root: Path, commit: str, relative: str, sql: str) -> Iterable[Violation]:
    """What in one migration added since the release ``commit`` breaks that release."""
    contracts = _CONTRACT.findall(sql)
    statements = _COMMENT.sub("", sql)
    if _REMOVING.search(statements) and not contracts:
        yield Violation(
            relative,
            "removes what the running release may read; name it on a `-- contract:"
            " table.column` line, one release after the code stopped using it",
        )
    if _NOT_NULL.search(statements) and not _ALWAYS_WRITTEN.search(sql):
        yield Violation(
            relative,
            "a NOT NULL without a default refuses the running release's inserts unless it"
            " writes the column; say so on an `-- always written: table.column` line",
        )
    for contract in contracts:
        name = contract.rsplit(".", 1)[-1]
        for path in released_code_mentions(root, commit, name):
            yield Violation(
                relative,
                f"contract {contract}: the previous release still names"
                f" {name!r} in {path.split(':', 1)[-1]}",
            )


def check(root: Path = REPO_ROOT, baseline_path: Path = BASELINE_PATH) -> list[Violation]:
    """Every violation of the migrations added since the release recorded in the baseline."""
    baseline = json.loads(baseline_path.read_text(encoding="utf-8"))
    released = set(baseline["migrations"])
    violations: list[Violation] = []
    for path in migration_paths(root):
        relative = path.relative_to(root).as_posix()
        if relative not in released:
            sql = path.read_text(encoding="utf-8")
            violations += check_migration(root, baseline["commit"], relative, sql)
    return violations


def record_release(
    version: str, root: Path = REPO_ROOT, baseline_path: Path = BASELINE_PATH
) -> None:
    """Make the current commit and its migrations the release the next ones are checked against."""
    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True
    ).stdout.strip()
    migrations = [p.relative_to(root).as_posix() for p in migration_paths(root)]
    baseline = {"release": version, "commit": commit, "migrations": migrations}
    baseline_path.write_text(json.dumps(baseline, indent=2) + "\n", encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--release", metavar="VERSION", help="record HEAD as this release")
    args = parser.parse_args()
    if args.release:
        record_release(args.release)
        return 0
    violations = check()
    for violation in violations:
        print(violation, file=sys.stderr)
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main())
