"""The project's set-up stays consistent: README quick start, CI script, one dependency list."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_readme_quick_start_is_two_commands_and_ci_runs_the_test_one():
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"## Quick start.*?```bash\n(.*?)```", readme, re.S).group(1)
    commands = [ln.split("#")[0].strip() for ln in block.splitlines() if ln.strip()]
    assert commands == ["make book", "make test"]
    ci = (ROOT / ".ci" / "run").read_text()
    assert "\nmake test\n" in ci


def test_dependencies_are_listed_once():
    env = (ROOT / "environment.yml").read_text()
    assert '-e ".[dev]"' in env and "torch" not in env.split("dependencies:")[1].split("- pip:")[0]
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert '"torch>=2.3"' in pyproject and 'ptlab = "ptlab.cli:main"' in pyproject
