"""Expand, then contract: a migration added since the last release may not take away what
that release, still running during a rollout, reads or writes (shared/migration_rules.py)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from shared.migration_rules import check, record_release


def test_the_migrations_since_the_release_keep_it_running() -> None:
    assert check() == []


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A repository whose release 1.0 reads ``legacy_code`` and writes ``owner_id``."""
    (tmp_path / "services" / "shop" / "migrations").mkdir(parents=True)
    (tmp_path / "tests").mkdir()
    write(tmp_path, "services/shop/migrations/0001_orders.sql", "CREATE TABLE orders (id text);")
    write(
        tmp_path, "services/shop/repository.py", 'SQL = "SELECT legacy_code, owner_id FROM orders"'
    )
    write(tmp_path, "tests/test_shop.py", "# tests may name anything: dropped_in_tests")
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", ".")
    git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "release 1.0")
    record_release("1.0", tmp_path, tmp_path / "release.json")
    return tmp_path


def write(root: Path, relative: str, text: str) -> None:
    (root / relative).write_text(text, encoding="utf-8")


def problems(root: Path, sql: str) -> list[str]:
    write(root, "services/shop/migrations/0002_next.sql", sql)
    return [v.problem for v in check(root, root / "release.json")]


def test_the_baseline_names_the_release_and_its_migrations(project: Path) -> None:
    baseline = json.loads((project / "release.json").read_text())
    assert baseline["release"] == "1.0"
    assert baseline["migrations"] == ["services/shop/migrations/0001_orders.sql"]
    assert len(baseline["commit"]) == 40


@pytest.mark.parametrize(
    "sql",
    [
        "ALTER TABLE orders ADD COLUMN note text;",
        "ALTER TABLE orders ADD COLUMN state text NOT NULL DEFAULT 'new';",
        "CREATE TABLE refunds (id text NOT NULL PRIMARY KEY);",
        "CREATE INDEX orders_owner ON orders (owner_id);\nDROP INDEX orders_old;",
        "-- a comment may say DROP COLUMN without doing it\nALTER TABLE orders ADD COLUMN x int;",
    ],
)
def test_expanding_is_allowed(project: Path, sql: str) -> None:
    assert problems(project, sql) == []


@pytest.mark.parametrize(
    "sql",
    [
        "ALTER TABLE orders DROP COLUMN gone;",
        "ALTER TABLE orders RENAME COLUMN gone TO kept;",
        "ALTER TABLE orders ALTER COLUMN gone TYPE bigint;",
        "ALTER TABLE orders ALTER COLUMN gone SET DATA TYPE bigint;",
        "DROP TABLE old_orders;",
    ],
)
def test_removing_needs_a_contract_line(project: Path, sql: str) -> None:
    [problem] = problems(project, sql)
    assert "-- contract:" in problem


def test_a_contract_refuses_a_name_the_release_still_reads(project: Path) -> None:
    sql = "-- contract: orders.legacy_code\nALTER TABLE orders DROP COLUMN legacy_code;"
    [problem] = problems(project, sql)
    assert "still names 'legacy_code' in services/shop/repository.py" in problem


def test_a_contract_passes_once_the_release_no_longer_names_it(project: Path) -> None:
    sql = "-- contract: orders.dropped_in_tests\nALTER TABLE orders DROP COLUMN dropped_in_tests;"
    assert problems(project, sql) == []  # only the tests of the release named it


def test_the_next_release_may_drop_what_its_predecessor_stopped_reading(project: Path) -> None:
    write(project, "services/shop/repository.py", 'SQL = "SELECT owner_id FROM orders"')
    git(project, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qam", "release 1.1")
    record_release("1.1", project, project / "release.json")
    sql = "-- contract: orders.legacy_code\nALTER TABLE orders DROP COLUMN legacy_code;"
    assert problems(project, sql) == []


@pytest.mark.parametrize(
    "sql",
    [
        "ALTER TABLE orders ALTER COLUMN owner_id SET NOT NULL;",
        "ALTER TABLE orders ADD COLUMN region text NOT NULL;",
    ],
)
def test_not_null_without_a_default_needs_the_release_to_write_it(project: Path, sql: str) -> None:
    [problem] = problems(project, sql)
    assert "-- always written:" in problem
    assert problems(project, f"-- always written: orders.owner_id\n{sql}") == []
