"""The fault switches: the next call of a method answers an error, HTTP 429 with
`Retry-After`, or a 5xx; or random faults on every call (`chaos`) for a benchmark.

A switch is consumed by the call it answers, in the order switches were set. A fault
answers before the method runs (no effect), except a server error set with
`after_effect=True`: the work is done and the answer is lost, as when Slack says "it's
possible some aspect of the operation succeeded before the error was raised".
"""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass


@dataclass
class Fault:
    """What one call will be answered instead of (or after) doing its work."""

    kind: str  # "error" (HTTP 200, ok false), "ratelimited" (429) or "server" (5xx)
    source: str  # the switch that set it, for the request log
    error: str = ""
    status: int = 200
    retry_after: int | None = None
    after_effect: bool = False
    extra: dict | None = None


class Faults:
    """Queued one-shot faults per method (`"*"`: any method) and the optional chaos."""

    def __init__(self) -> None:
        self.queued: dict[str, deque[Fault]] = {}
        self._chaos: dict | None = None
        self._rng = random.Random()

    def push(self, method: str, fault: Fault, times: int) -> None:
        if times < 1:
            raise ValueError("times must be at least 1")
        for _ in range(times):
            self.queued.setdefault(method, deque()).append(fault)

    def chaos(
        self,
        *,
        rate_limited: float,
        retry_after: tuple[int, int],
        server_errors: float,
        seed: int | None,
        effect_applied: float,
        methods: tuple[str, ...] | None,
    ) -> None:
        if rate_limited < 0 or server_errors < 0 or rate_limited + server_errors > 1:
            raise ValueError("rate_limited and server_errors are fractions adding up to ≤ 1")
        low, high = retry_after
        if not 0 <= low <= high:
            raise ValueError("retry_after is a (low, high) range of whole seconds")
        self._rng = random.Random(seed)
        if rate_limited == 0 and server_errors == 0:
            self._chaos = None
            return
        self._chaos = {
            "rate_limited": rate_limited,
            "retry_after": (low, high),
            "server_errors": server_errors,
            "effect_applied": effect_applied,
            "methods": methods,
        }

    def take(self, method: str) -> Fault | None:
        """The fault this call gets, if any (queued switches first, then chaos)."""
        for name in (method, "*"):
            queue = self.queued.get(name)
            if queue:
                return queue.popleft()
        chaos = self._chaos
        if chaos is None or (chaos["methods"] and method not in chaos["methods"]):
            return None
        draw = self._rng.random()
        if draw < chaos["rate_limited"]:
            return Fault(
                kind="ratelimited",
                source="chaos",
                error="ratelimited",
                status=429,
                retry_after=self._rng.randint(*chaos["retry_after"]),
            )
        if draw < chaos["rate_limited"] + chaos["server_errors"]:
            return Fault(
                kind="server",
                source="chaos",
                error="service_unavailable",
                status=503,
                after_effect=self._rng.random() < chaos["effect_applied"],
            )
        return None

    def pending(self) -> list[tuple[str, Fault]]:
        """Every queued switch, for the workspace page."""
        return [(method, fault) for method, queue in self.queued.items() for fault in queue]

    @property
    def chaos_settings(self) -> dict | None:
        return self._chaos
