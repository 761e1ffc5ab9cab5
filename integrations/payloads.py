"""JSON bodies providers send us, read strictly: what parses is also what PostgreSQL can
store (no NUL, no lone surrogate, finite numbers, bounded nesting). Shared by the
providers' webhook readers; imports nothing of CoachHub."""

from __future__ import annotations

import json
import math
from typing import Any

MAX_NESTING = 64


def json_strict_loads(text: str) -> Any:
    """`json.loads` that refuses NaN, Infinity and out-of-range numbers (ValueError) and
    input nested past Python's recursion limit (RecursionError)."""
    return json.loads(text, parse_constant=_no_constant, parse_float=_finite_float)


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} is not JSON")


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"{text} is out of range")
    return number


def unstorable(data: Any) -> str:
    """What in a parsed JSON value cannot be stored as it is ("" when nothing)."""
    pending = [(data, 1)]
    while pending:
        value, depth = pending.pop()
        if depth > MAX_NESTING:
            return f"nested deeper than {MAX_NESTING} levels"
        if isinstance(value, dict):
            pending.extend((key, depth) for key in value)
            pending.extend((item, depth + 1) for item in value.values())
        elif isinstance(value, list):
            pending.extend((item, depth + 1) for item in value)
        elif isinstance(value, str):
            if "\x00" in value:
                return "a text holds a NUL character"
            if not value.isascii():
                try:
                    value.encode("utf-8")
                except UnicodeEncodeError:
                    return "a text is not valid Unicode (a lone surrogate)"
        elif isinstance(value, float) and not math.isfinite(value):
            return "a number is not finite"
    return ""
