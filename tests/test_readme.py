"""The README is the door and the operators' guide the reference: every setting is documented
there, so operators never have to read the code for one."""

from __future__ import annotations

from shared.settings import REPO_ROOT, Settings

OPERATORS_GUIDE = REPO_ROOT / "docs" / "operators.md"


def configuration_reference() -> str:
    """The text of the operators' guide's "Configuration reference" section, subsections
    included: a variable named elsewhere in the guide does not count as documented."""
    guide = OPERATORS_GUIDE.read_text(encoding="utf-8")
    heading = "\n## Configuration reference\n"
    assert heading in guide, f"{OPERATORS_GUIDE} has no Configuration reference section"
    return guide.split(heading, 1)[1].split("\n## ", 1)[0]


def test_every_setting_is_in_the_operators_configuration_reference() -> None:
    reference = configuration_reference()
    undocumented = [
        f"LIAISON_{name.upper()}"
        for name in Settings.model_fields
        if f"`LIAISON_{name.upper()}`" not in reference
    ]
    assert undocumented == []


def test_readme_names_the_two_commands_ci_runs() -> None:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    ci = (REPO_ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "./liaison run" in readme
    assert "./liaison test" in readme
    assert "./liaison test" in ci
