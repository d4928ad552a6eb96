"""The entrypoints' argument check runs once per shape of arguments, and a wrong shape
is refused every time."""

from __future__ import annotations

from typing import Any

import pytest

from yilin.signatures import SignatureCheckedOnce


class CountingCheck:
    def __init__(self) -> None:
        self.checks = 0

    def check_signature(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        self.checks += 1
        if len(args) != 1 or set(kwargs) - {"limit"}:
            raise TypeError("wrong arguments")


class Entrypoint(SignatureCheckedOnce, CountingCheck):
    pass


def test_a_shape_that_passed_is_not_checked_again_and_a_wrong_one_always_is() -> None:
    entrypoint = Entrypoint()
    entrypoint.check_signature(("a",), {})
    entrypoint.check_signature(("b",), {})
    entrypoint.check_signature(("c",), {"limit": 5})
    assert entrypoint.checks == 2  # two shapes, each checked once
    for _ in range(2):
        with pytest.raises(TypeError):
            entrypoint.check_signature(("a", "b"), {})
        with pytest.raises(TypeError):
            entrypoint.check_signature(("a",), {"other": 1})
    assert entrypoint.checks == 6
