"""The README's shell blocks run as written, in order, against a fresh `yilin run` (what
`make run` starts), so the README cannot drift from the code. A block is runnable unless the
line before it is a ``<!-- not-runnable: why -->`` comment."""

from __future__ import annotations

import json
import re
import subprocess

from tests.e2e.conftest import RunningStack
from tests.harness import ROOT

README = ROOT / "README.md"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.M | re.S)
SHELLS = {"sh", "bash", "shell", "console"}
MAKE_RUN_URL = "http://127.0.0.1:8000"


def readme_blocks() -> list[tuple[bool, str]]:
    """Every shell block of the README: (runnable, text), in order."""
    text = README.read_text(encoding="utf-8")
    blocks = []
    for match in FENCE.finditer(text):
        if match.group(1) not in SHELLS:
            continue
        before = text[: match.start()].rstrip().splitlines()
        runnable = not (before and before[-1].startswith("<!-- not-runnable"))
        blocks.append((runnable, match.group(2)))
    return blocks


def test_placeholders_are_marked_and_blocks_need_only_a_bare_machine() -> None:
    blocks = readme_blocks()
    runnable = [text for ok, text in blocks if ok]
    assert len(runnable) >= 2 and len(runnable) < len(blocks)
    assert all("example" not in text for text in runnable), "a placeholder block is not marked not-runnable"
    assert "uuidgen" not in README.read_text(encoding="utf-8")


def test_the_readme_runs_as_written_against_a_fresh_stack(running_stack: RunningStack) -> None:
    runnable = [text for ok, text in readme_blocks() if ok]
    # One shell for all blocks, as a reader types them into one terminal; only the address
    # differs (the test's stack listens on a free port, not 8000).
    script = "set -euo pipefail\n" + "".join(
        f"echo '--- block {number}'\n{text.replace(MAKE_RUN_URL, running_stack.url)}\necho\n"
        for number, text in enumerate(runnable, 1)
    )
    done = subprocess.run(
        ["bash", "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env=running_stack.environment,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"
    outputs = done.stdout.split("--- block ")[1:]
    assert len(outputs) == len(runnable)
    answers = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert {"status": "ok"}.items() <= answers[0].items()
    assert any("items" in answer for answer in answers), "the volunteers list"
    created = [answer for answer in answers if answer.get("code") == "XJ"]
    assert created and created[0]["level"] == "district", done.stdout
    # the block's promise: the same write again is a 409 naming the field
    again = subprocess.run(
        [
            "bash",
            "-c",
            "set -euo pipefail\n"
            + runnable[0].replace(MAKE_RUN_URL, running_stack.url)
            + runnable[-1].replace(MAKE_RUN_URL, running_stack.url),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env=running_stack.environment,
    )
    assert again.returncode != 0 and "409" in again.stderr, again
    refusal = json.loads(again.stdout.strip().splitlines()[-1])
    assert refusal["type"] == "https://yilin.example/problems/conflict" and refusal["status"] == 409, refusal
    assert "code" in {error["field"] for error in refusal["errors"]}, refusal
