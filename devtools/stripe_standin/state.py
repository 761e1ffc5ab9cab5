"""The stand-in's memory: accounts (one per secret key), their objects and events, and the
delivery of each event, signed, to the account's webhook endpoints.

Everything is in memory and lives as long as the process; `StandIn` (`api.py`) adds the
behaviour (`payments.py`, `invoices.py`) and the HTTP API on top of this.
"""

from __future__ import annotations

import json
import queue
import re
import secrets
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from .signing import signature_header

API_VERSION = "2026-10-28.endive"
KEY_PATTERN = re.compile(r"^sk_(test|live)_[A-Za-z0-9]{8,}$")


def new_id(prefix: str) -> str:
    """An id shaped like Stripe's (`cus_…`, `evt_…`): prefix and random hex."""
    return f"{prefix}_{secrets.token_hex(12)}"


@dataclass
class Account:
    """One Stripe account, made the first time its secret key is used."""

    secret_key: str
    id: str
    name: str
    objects: dict[str, dict[str, Any]] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)
    endpoints: list[dict[str, Any]] = field(default_factory=list)
    idempotent: dict[tuple[str, str], tuple[int, dict]] = field(default_factory=dict)
    deliveries: list[tuple[str, str, int | str]] = field(default_factory=list)

    @property
    def livemode(self) -> bool:
        return self.secret_key.startswith("sk_live_")


class StripeError(Exception):
    """An error Stripe would answer, with its HTTP status and error type."""

    def __init__(self, status: int, message: str, kind: str = "invalid_request_error"):
        super().__init__(message)
        self.status, self.kind = status, kind


class State:
    """Accounts, objects and events, and their delivery; the behaviour is in subclasses."""

    def __init__(self, *, deliver: bool = True):
        self.accounts: dict[str, Account] = {}
        self.deliver = deliver
        self.lock = threading.RLock()
        self.base_url = ""
        self.requests = 0  # API calls answered (tests check that webhooks make none)
        self._clock = 0
        # Deliveries leave in order from one thread, never while the state is locked
        # (the app may call back into the stand-in while handling an event).
        self._outbox: queue.Queue = queue.Queue()
        threading.Thread(target=self._deliver_loop, daemon=True).start()

    def _deliver_loop(self) -> None:
        while True:
            account, endpoint, event = self._outbox.get()
            try:
                self._deliver(account, endpoint, event)
            finally:
                self._outbox.task_done()

    def flush(self) -> None:
        """Wait until every event emitted so far has been delivered."""
        self._outbox.join()

    # --- bookkeeping ------------------------------------------------------------
    def now(self) -> int:
        """Seconds, strictly increasing, so events keep their order in `created`."""
        with self.lock:
            self._clock = max(self._clock + 1, int(time.time()))
            return self._clock

    def account(self, secret_key: str) -> Account:
        """The key's account (made on first use), or Stripe's 401 for a malformed key."""
        if not KEY_PATTERN.match(secret_key or ""):
            masked = (secret_key or "")[:8] + "*" * 4
            raise StripeError(401, f"Invalid API Key provided: {masked}", "invalid_request_error")
        with self.lock:
            if secret_key not in self.accounts:
                self.accounts[secret_key] = Account(
                    secret_key=secret_key,
                    id=new_id("acct"),
                    name=f"Stand-in account {len(self.accounts) + 1}",
                )
            return self.accounts[secret_key]

    def _store(self, account: Account, obj: dict[str, Any]) -> dict[str, Any]:
        account.objects[obj["id"]] = obj
        return obj

    def _get(self, account: Account, object_id: str, kind: str) -> dict[str, Any]:
        obj = account.objects.get(object_id)
        if obj is None or obj.get("object") != kind:
            raise StripeError(404, f"No such {kind}: '{object_id}'", "invalid_request_error")
        return obj

    def find_account(self, object_id: str) -> Account:
        """The account holding an object (hosted pages and the dashboard name objects only)."""
        for account in self.accounts.values():
            if object_id in account.objects:
                return account
        raise StripeError(404, f"No such object: '{object_id}'")

    def charges(self, account: Account) -> list[dict]:
        return [o for o in account.objects.values() if o.get("object") == "charge"]

    @staticmethod
    def _public(obj: dict) -> dict:
        """The object as Stripe shows it: without the stand-in's own `_` fields."""
        return {k: v for k, v in obj.items() if not k.startswith("_")}

    def _charge(self, account, amount, currency, customer_id, intent_id) -> dict:
        return self._store(
            account,
            {
                "id": new_id("ch"),
                "object": "charge",
                "amount": amount,
                "amount_captured": amount,
                "amount_refunded": 0,
                "currency": currency,
                "customer": customer_id,
                "payment_intent": intent_id,
                "paid": True,
                "refunded": False,
                "disputed": False,
                "status": "succeeded",
                "created": self.now(),
            },
        )

    # --- events -----------------------------------------------------------------
    def emit(self, account: Account, event_type: str, obj: dict[str, Any], **extra) -> dict:
        """Record an event in Stripe's envelope and queue it for every endpoint."""
        event = {
            "id": new_id("evt"),
            "object": "event",
            "api_version": API_VERSION,
            "created": self.now(),
            "data": {"object": json.loads(json.dumps(obj)), **extra},
            "livemode": account.livemode,
            "pending_webhooks": len(account.endpoints),
            "request": {"id": None, "idempotency_key": None},
            "type": event_type,
        }
        account.events.append(event)
        if self.deliver:
            for endpoint in account.endpoints:
                self._outbox.put((account, endpoint, event))
        return event

    def _deliver(self, account: Account, endpoint: dict, event: dict) -> int | str:
        payload = json.dumps(event).encode()
        request = urllib.request.Request(
            endpoint["url"],
            data=payload,
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "Stripe-Signature": signature_header(payload, endpoint["secret"]),
                "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                outcome: int | str = response.status
        except urllib.error.HTTPError as error:
            outcome = error.code
        except OSError as error:
            outcome = f"unreachable: {error}"
        account.deliveries.append((event["id"], endpoint["url"], outcome))
        return outcome
