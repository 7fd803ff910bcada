"""The README documents every setting, so operators never have to read the code for one."""

from __future__ import annotations

from shared.settings import REPO_ROOT, Settings


def test_every_setting_is_in_the_readme_configuration() -> None:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    undocumented = [
        f"LIAISON_{name.upper()}"
        for name in Settings.model_fields
        if f"`LIAISON_{name.upper()}`" not in readme
    ]
    assert undocumented == []


def test_readme_names_the_two_commands_ci_runs() -> None:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    ci = (REPO_ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "./liaison run" in readme
    assert "./liaison test" in readme
    assert "./liaison test" in ci
