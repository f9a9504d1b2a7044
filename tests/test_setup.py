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


def test_lint_is_clean_chapters_included():
    """`make lint` in CI: ruff over the library, tests, benchmarks and the chapter sources."""
    import shutil
    import subprocess
    import sys

    ruff = Path(sys.executable).parent / "ruff"
    exe = str(ruff) if ruff.exists() else shutil.which("ruff")
    if exe is None:
        import pytest

        pytest.skip("ruff is not installed (it comes with the dev extra)")
    paths = ["src", "tests", "bench", "notebooks"]
    check = subprocess.run([exe, "check", *paths], cwd=ROOT, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout[-3000:]
    fmt = subprocess.run(
        [exe, "format", "--check", *paths[:3]], cwd=ROOT, capture_output=True, text=True
    )
    assert fmt.returncode == 0, fmt.stdout[-3000:]
