"""One lock for every install, a runtime set free of test tools, and a tidy repository."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
UV = Path(sys.executable).parent / "uv"  # `make` puts the pinned uv in the project venv
ENV = {**os.environ, "UV_PROJECT_ENVIRONMENT": str(Path(sys.executable).parent.parent)}
CACHES = (".schemathesis", ".hypothesis", ".pytest_cache", ".mypy_cache", ".ruff_cache", "__pycache__")


def uv(*args: str) -> str:
    done = subprocess.run([str(UV), *args], cwd=REPO, env=ENV, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def locked_names(*args: str) -> set[str]:
    """Distribution names uv would install from uv.lock with these options."""
    text = uv("export", "--frozen", "--format", "requirements-txt", "--no-hashes", "--no-emit-project", *args)
    return {
        re.split(r"[=<>; ]", line)[0].lower()
        for line in text.splitlines()
        if line and not line.startswith(("#", " ", "-"))
    }


def test_the_lock_matches_pyproject() -> None:
    uv("lock", "--check")


def test_make_run_installs_the_runtime_only_and_test_tools_come_with_make_test() -> None:
    runtime, test = locked_names(), locked_names("--group", "test")
    groups = tomllib.loads((REPO / "pyproject.toml").read_text())["dependency-groups"]
    tools = {
        re.split(r"[=<>\[ ]", item)[0].lower()
        for name in ("test", "bench")
        for item in groups[name]
        if isinstance(item, str)
    }
    assert tools and not tools & runtime, tools & runtime
    assert tools <= test, tools - test
    assert "noto-cjk-sans-otc" in runtime and "fpdf2" in runtime
    # what `make run` and `make test` actually execute
    dry = {
        target: subprocess.run(["make", "-n", target], cwd=REPO, capture_output=True, text=True, timeout=30).stdout
        for target in ("run", "test", "bench")
    }
    syncs = {target: [line for line in text.splitlines() if " sync " in line] for target, text in dry.items()}
    assert all(lines and all("--frozen" in line for line in lines) for lines in syncs.values()), syncs
    assert not any("--group" in line or "--all-groups" in line for line in syncs["run"]), syncs["run"]
    assert any("--group test" in line for line in syncs["test"]) and any(
        "--group bench" in line for line in syncs["bench"]
    )


def test_ci_installs_no_font_and_runs_make_test() -> None:
    ci = (REPO / ".ci" / "run").read_text()
    system = (REPO / "deploy" / "ci" / "system-deps.sh").read_text()
    assert "make test" in ci and "system-deps.sh" in ci
    assert "fonts-" not in ci + system and "prometheus" in system and "nodejs" in system


def test_phony_lists_only_real_targets() -> None:
    makefile = (REPO / "Makefile").read_text()
    phony = re.search(r"^\.PHONY:(.*)$", makefile, re.M)
    assert phony
    targets = set(re.findall(r"^([A-Za-z][\w-]*):", makefile, re.M))
    assert set(phony.group(1).split()) - targets == set()


def test_no_tool_cache_or_duplicate_result_is_tracked() -> None:
    tracked = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, timeout=30).stdout.split()
    assert tracked, "a git checkout"
    assert not [path for path in tracked if any(part in CACHES for part in Path(path).parts)]
    ignored = (REPO / ".gitignore").read_text().splitlines()
    assert ".schemathesis/" in ignored and ".hypothesis/" in ignored
    results = sorted((REPO / "bench" / "results").glob("*.json"))
    contents = [path.read_bytes() for path in results if str(path.relative_to(REPO)) in tracked]
    assert len(contents) == len(set(contents)), "two tracked bench results hold the same run"


def test_make_run_with_another_python_says_which_python_it_needs(tmp_path: Path) -> None:
    other = tmp_path / "python3.12"
    other.write_text("#!/bin/sh\n[ \"$1\" = --version ] && echo 'Python 3.12.1' && exit 0\nexit 1\n")
    other.chmod(0o755)
    done = subprocess.run(
        ["make", "run", f"PYTHON={other}", f"VENV={tmp_path / 'venv'}"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "Yilin needs Python 3.11" in done.stdout and "Python 3.12.1" in done.stdout, done.stdout + done.stderr
    assert "make run PYTHON=python3.11" in done.stdout
    assert not (tmp_path / "venv").exists()
