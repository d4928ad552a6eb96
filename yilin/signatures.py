"""nameko checks each call's arguments against the entrypoint method's signature with
``inspect.getcallargs`` (~50 µs a call). The outcome depends only on how many positional
arguments there are and which keywords, so a shape that passed once passes again."""

from __future__ import annotations

from typing import Any


class SignatureCheckedOnce:
    """Mixin for a nameko ``Entrypoint``: its ``check_signature`` runs once per shape of
    arguments; a shape that fails is checked (and refused) every time."""

    def check_signature(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        shape = (len(args), tuple(sorted(kwargs)))
        passed: set[tuple[int, tuple[str, ...]]] = self.__dict__.setdefault("_signatures_passed", set())
        if shape not in passed:
            super().check_signature(args, kwargs)  # type: ignore[misc]  # the next class in the entrypoint's MRO defines it
            passed.add(shape)
