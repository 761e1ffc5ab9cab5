"""A local stand-in for the Stripe endpoints CoachHub calls, plus a hosted checkout page.

Stripe is out of reach on these machines, so development, the demo and the tests run
the real `stripe` library against this server (`STRIPE_API_BASE=http://127.0.0.1:12111`):

    .venv/bin/python manage.py stripe_standin        (or: make stripe-standin)

It answers with Stripe's documented object shapes, honours `Idempotency-Key` like
Stripe (the same key replays the first answer), and keeps its state in memory.
Like Stripe's dashboard it lets you add a webhook endpoint (it shows the `whsec_`
signing secret), pay on a hosted checkout page, renew or fail a subscription's
payment, refund and dispute — each producing the events Stripe would, delivered
signed exactly as Stripe signs them and listed at `GET /v1/events`.

It is a test double, not Stripe: no cards, no taxes, one currency per price.
"""

from __future__ import annotations

import html
import http.server
import json
import queue
import re
import secrets
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from coachhub.money import money_shown

from .signing import signature_header

API_VERSION = "2026-10-28.endive"
KEY_PATTERN = re.compile(r"^sk_(test|live)_[A-Za-z0-9]{8,}$")


def _id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


def parse_form(body: str) -> dict[str, Any]:
    """Stripe's form encoding (`a[b][0][c]=v`) back into nested dicts and lists."""
    result: dict[str, Any] = {}
    for key, value in urllib.parse.parse_qsl(body, keep_blank_values=True):
        parts = re.findall(r"[^\[\]]+", key)
        node: Any = result
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            following = None if last else parts[index + 1]
            container: Any = [] if following is not None and following.isdigit() else {}
            if isinstance(node, list):
                position = int(part)
                while len(node) <= position:
                    node.append(None)
                if last:
                    node[position] = value
                else:
                    if node[position] is None:
                        node[position] = container
                    node = node[position]
            else:
                if last:
                    node[part] = value
                else:
                    node = node.setdefault(part, container)
    return result


@dataclass
class Account:
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
    def __init__(self, status: int, message: str, kind: str = "invalid_request_error"):
        super().__init__(message)
        self.status, self.kind = status, kind


class StandIn:
    """The stand-in's state and behaviour; `serve()` puts it on HTTP."""

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
        if not KEY_PATTERN.match(secret_key or ""):
            masked = (secret_key or "")[:8] + "*" * 4
            raise StripeError(401, f"Invalid API Key provided: {masked}", "invalid_request_error")
        with self.lock:
            if secret_key not in self.accounts:
                self.accounts[secret_key] = Account(
                    secret_key=secret_key,
                    id=_id("acct"),
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

    def emit(self, account: Account, event_type: str, obj: dict[str, Any], **extra) -> dict:
        event = {
            "id": _id("evt"),
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

    # --- API --------------------------------------------------------------------
    def api(self, method: str, path: str, key: str, params: dict, idem: str | None) -> dict:
        self.requests += 1
        account = self.account(key)
        with self.lock:
            if method == "POST" and idem:
                replay = account.idempotent.get((idem, path))
                if replay is not None:
                    return replay[1]
            answer = self._route(account, method, path, params)
            if method == "POST" and idem:
                account.idempotent[(idem, path)] = (200, answer)
            return answer

    def _route(self, account: Account, method: str, path: str, params: dict) -> dict:
        parts = path.strip("/").split("/")[1:]  # drop "v1"
        match method, parts:
            case "GET", ["account"]:
                return {
                    "id": account.id,
                    "object": "account",
                    "business_profile": {"name": account.name},
                    "charges_enabled": True,
                    "email": "owner@example.com",
                    "settings": {"dashboard": {"display_name": account.name}},
                }
            case "POST", ["products"]:
                return self._store(
                    account,
                    {
                        "id": _id("prod"),
                        "object": "product",
                        "name": params.get("name", ""),
                        "description": params.get("description"),
                        "active": True,
                        "created": self.now(),
                        "livemode": account.livemode,
                    },
                )
            case "POST", ["prices"]:
                self._get(account, params.get("product", ""), "product")
                recurring = params.get("recurring")
                return self._store(
                    account,
                    {
                        "id": _id("price"),
                        "object": "price",
                        "product": params["product"],
                        "unit_amount": int(params["unit_amount"]),
                        "currency": params["currency"],
                        "recurring": {"interval": recurring["interval"], "interval_count": 1}
                        if recurring
                        else None,
                        "type": "recurring" if recurring else "one_time",
                        "active": True,
                        "livemode": account.livemode,
                    },
                )
            case "POST", ["checkout", "sessions"]:
                return self._checkout_create(account, params)
            case "GET", ["checkout", "sessions", session_id]:
                return self._get(account, session_id, "checkout.session")
            case "POST", ["checkout", "sessions", session_id, "expire"]:
                return self.checkout_expire(account, session_id)
            case "GET", ["subscriptions", subscription_id]:
                return self._get(account, subscription_id, "subscription")
            case "DELETE", ["subscriptions", subscription_id]:
                return self.subscription_cancel(account, subscription_id)
            case "GET", ["events"]:
                return self._events_list(account, params)
            case "GET", ["events", event_id]:
                for event in account.events:
                    if event["id"] == event_id:
                        return event
                raise StripeError(404, f"No such event: '{event_id}'")
            case "POST", ["webhook_endpoints"]:
                endpoint = {
                    "id": _id("we"),
                    "object": "webhook_endpoint",
                    "url": params["url"],
                    "secret": "whsec_" + secrets.token_urlsafe(24),
                    "enabled_events": ["*"],
                    "status": "enabled",
                }
                account.endpoints.append(endpoint)
                return endpoint
            case "POST", ["refunds"]:
                return self.refund(account, params.get("charge", ""), params.get("amount"))
            case "POST", ["customers"]:
                return self._store(
                    account,
                    {
                        "id": _id("cus"),
                        "object": "customer",
                        "name": params.get("name"),
                        "email": params.get("email"),
                        "metadata": params.get("metadata") or {},
                        "created": self.now(),
                    },
                )
            case "GET", ["customers", customer_id]:
                return self._get(account, customer_id, "customer")
            case "POST", ["invoices"]:
                return self._invoice_draft(account, params)
            case "GET", ["invoices", invoice_id]:
                return self._get(account, invoice_id, "invoice")
            case "POST", ["invoiceitems"]:
                return self._invoice_item_add(account, params)
            case "POST", ["invoices", invoice_id, "finalize"]:
                return self._invoice_finalize(account, invoice_id)
            case "POST", ["invoices", invoice_id, "void"]:
                return self._invoice_void(account, invoice_id)
            case "POST", ["invoices", invoice_id, "send"]:
                invoice = self._get(account, invoice_id, "invoice")
                if invoice["status"] != "open":
                    raise StripeError(400, "Only open invoices can be sent.")
                self.emit(account, "invoice.sent", invoice)
                return invoice
        raise StripeError(404, f"Unrecognized request URL ({method}: {path}).")

    def _checkout_create(self, account: Account, params: dict) -> dict:
        line = (params.get("line_items") or [{}])[0]
        price = self._get(account, line.get("price", ""), "price")
        quantity = int(line.get("quantity", 1))
        mode = params.get("mode", "payment")
        if (mode == "subscription") != bool(price["recurring"]):
            raise StripeError(400, "The price type does not match the checkout mode.")
        now = self.now()
        expires_at = int(params.get("expires_at") or now + 24 * 3600)
        if not now + 30 * 60 - 5 <= expires_at <= now + 24 * 3600 + 5:
            raise StripeError(400, "expires_at must be between 30 minutes and 24 hours away.")
        session_id = _id("cs_live" if account.livemode else "cs_test")
        return self._store(
            account,
            {
                "id": session_id,
                "object": "checkout.session",
                "amount_subtotal": price["unit_amount"] * quantity,
                "amount_total": price["unit_amount"] * quantity,
                "cancel_url": params.get("cancel_url"),
                "client_reference_id": params.get("client_reference_id"),
                "created": now,
                "currency": price["currency"],
                "customer": None,
                "customer_details": None,
                "customer_email": params.get("customer_email"),
                "expires_at": expires_at,
                "livemode": account.livemode,
                "metadata": params.get("metadata", {}),
                "mode": mode,
                "payment_intent": None,
                "payment_status": "unpaid",
                "status": "open",
                "subscription": None,
                "success_url": params.get("success_url"),
                "url": f"{self.base_url}/checkout/{session_id}",
                "_price": price["id"],
                "_quantity": quantity,
                "_payment_intent_metadata": (params.get("payment_intent_data") or {}).get(
                    "metadata", {}
                ),
                "_subscription_metadata": (params.get("subscription_data") or {}).get(
                    "metadata", {}
                ),
            },
        )

    def _events_list(self, account: Account, params: dict) -> dict:
        created = params.get("created") or {}
        since = int(created.get("gte", 0)) if isinstance(created, dict) else 0
        events = [e for e in reversed(account.events) if e["created"] >= since]  # newest first
        if after := params.get("starting_after"):
            ids = [e["id"] for e in events]
            events = events[ids.index(after) + 1 :] if after in ids else []
        limit = int(params.get("limit", 10))
        return {
            "object": "list",
            "data": events[:limit],
            "has_more": len(events) > limit,
            "url": "/v1/events",
        }

    # --- what a customer or the dashboard does ---------------------------------
    def find_account(self, object_id: str) -> Account:
        for account in self.accounts.values():
            if object_id in account.objects:
                return account
        raise StripeError(404, f"No such object: '{object_id}'")

    def pay(self, session_id: str) -> dict:
        """The customer pays on the hosted page: the events Stripe sends, in its order."""
        with self.lock:
            account = self.find_account(session_id)
            session = self._get(account, session_id, "checkout.session")
            if session["status"] != "open":
                raise StripeError(400, f"This checkout is {session['status']}.")
            price = account.objects[session["_price"]]
            email = session["customer_email"] or "customer@example.com"
            customer = self._store(
                account,
                {
                    "id": _id("cus"),
                    "object": "customer",
                    "email": email,
                    "name": email.split("@")[0],
                    "created": self.now(),
                },
            )
            session.update(
                customer=customer["id"],
                customer_details={"email": email, "name": customer["name"]},
                payment_status="paid",
                status="complete",
                url=None,
            )
            amount = session["amount_total"]
            if session["mode"] == "subscription":
                subscription = self._subscription_create(account, session, customer, price)
                session["subscription"] = subscription["id"]
                self.emit(account, "customer.subscription.created", subscription)
                self._invoice_paid(account, subscription, amount, "subscription_create")
            else:
                intent = self._store(
                    account,
                    {
                        "id": _id("pi"),
                        "object": "payment_intent",
                        "amount": amount,
                        "currency": session["currency"],
                        "customer": customer["id"],
                        "metadata": session["_payment_intent_metadata"],
                        "status": "succeeded",
                    },
                )
                self._charge(account, amount, session["currency"], customer["id"], intent["id"])
                session["payment_intent"] = intent["id"]
            event = self.emit(account, "checkout.session.completed", self._public(session))
            return event

    @staticmethod
    def _public(obj: dict) -> dict:
        return {k: v for k, v in obj.items() if not k.startswith("_")}

    def _charge(self, account, amount, currency, customer_id, intent_id) -> dict:
        return self._store(
            account,
            {
                "id": _id("ch"),
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

    def _subscription_create(self, account, session, customer, price) -> dict:
        start = self.now()
        return self._store(
            account,
            {
                "id": _id("sub"),
                "object": "subscription",
                "customer": customer["id"],
                "status": "active",
                "cancel_at_period_end": False,
                "canceled_at": None,
                "ended_at": None,
                "created": start,
                "metadata": session["_subscription_metadata"],
                "items": {
                    "object": "list",
                    "data": [
                        {
                            "id": _id("si"),
                            "object": "subscription_item",
                            "price": self._public(price),
                            "quantity": session["_quantity"],
                            "current_period_start": start,
                            "current_period_end": start + 30 * 86400,
                        }
                    ],
                },
                "livemode": account.livemode,
                "_amount": session["amount_total"],
                "_currency": session["currency"],
            },
        )

    def _invoice(self, account, subscription, amount, reason, status) -> dict:
        item = subscription["items"]["data"][0]
        return self._store(
            account,
            {
                "id": _id("in"),
                "object": "invoice",
                "amount_due": amount,
                "amount_paid": amount if status == "paid" else 0,
                "amount_remaining": 0 if status == "paid" else amount,
                "attempt_count": 1,
                "billing_reason": reason,
                "currency": subscription["_currency"],
                "customer": subscription["customer"],
                "created": self.now(),
                "lines": {
                    "object": "list",
                    "data": [
                        {
                            "amount": amount,
                            "period": {
                                "start": item["current_period_start"],
                                "end": item["current_period_end"],
                            },
                        }
                    ],
                },
                "parent": {
                    "type": "subscription_details",
                    "subscription_details": {
                        "subscription": subscription["id"],
                        "metadata": subscription["metadata"],
                    },
                },
                "period_start": item["current_period_start"],
                "period_end": item["current_period_end"],
                "status": status,
                "livemode": account.livemode,
            },
        )

    # --- One-off invoices (a company's monthly statement) ---------------------------
    def _invoice_draft(self, account: Account, params: dict) -> dict:
        customer = self._get(account, params.get("customer", ""), "customer")
        if params.get("collection_method") == "send_invoice" and not params.get("days_until_due"):
            raise StripeError(400, "days_until_due is required to send an invoice.")
        return self._store(
            account,
            {
                "id": _id("in"),
                "object": "invoice",
                "customer": customer["id"],
                "customer_email": customer.get("email"),
                "customer_name": customer.get("name"),
                "collection_method": params.get("collection_method", "charge_automatically"),
                "days_until_due": int(params.get("days_until_due") or 0) or None,
                "currency": params.get("currency", "usd"),
                "description": params.get("description"),
                "metadata": params.get("metadata") or {},
                "lines": {"object": "list", "data": []},
                "subtotal": 0,
                "total": 0,
                "amount_due": 0,
                "amount_paid": 0,
                "amount_remaining": 0,
                "status": "draft",
                "hosted_invoice_url": None,
                "parent": None,
                "billing_reason": "manual",
                "created": self.now(),
                "livemode": account.livemode,
            },
        )

    def _invoice_item_add(self, account: Account, params: dict) -> dict:
        invoice = self._get(account, params.get("invoice", ""), "invoice")
        if invoice["status"] != "draft":
            raise StripeError(400, "Items can only be added to a draft invoice.")
        if params.get("currency", invoice["currency"]) != invoice["currency"]:
            raise StripeError(400, "The item's currency must match the invoice's.")
        amount = int(params["amount"])
        item = self._store(
            account,
            {
                "id": _id("ii"),
                "object": "invoiceitem",
                "amount": amount,
                "currency": invoice["currency"],
                "customer": invoice["customer"],
                "description": params.get("description"),
                "invoice": invoice["id"],
            },
        )
        invoice["lines"]["data"].append(
            {
                "id": _id("il"),
                "object": "line_item",
                "amount": amount,
                "description": item["description"],
            }
        )
        invoice["subtotal"] = invoice["total"] = invoice["amount_due"] = sum(
            line["amount"] for line in invoice["lines"]["data"]
        )
        return item

    def _invoice_finalize(self, account: Account, invoice_id: str) -> dict:
        invoice = self._get(account, invoice_id, "invoice")
        if invoice["status"] == "open":
            return invoice
        if invoice["status"] != "draft":
            raise StripeError(400, f"This invoice is {invoice['status']}.")
        if invoice["total"] < 0:
            raise StripeError(400, "An invoice's total cannot be negative.")
        invoice.update(
            status="open",
            number=f"SI-{len(account.events) + 1:04d}",
            amount_remaining=invoice["total"],
            hosted_invoice_url=f"{self.base_url}/invoice/{invoice_id}",
        )
        self.emit(account, "invoice.finalized", invoice)
        return invoice

    def _invoice_void(self, account: Account, invoice_id: str) -> dict:
        invoice = self._get(account, invoice_id, "invoice")
        if invoice["status"] not in ("open", "uncollectible"):
            raise StripeError(400, "You can only void invoices that are open or uncollectible.")
        invoice.update(status="void", amount_remaining=0)
        self.emit(account, "invoice.voided", invoice)
        return invoice

    def invoice_pay(self, invoice_id: str) -> dict:
        """The company pays the invoice on its hosted page."""
        with self.lock:
            account = self.find_account(invoice_id)
            invoice = self._get(account, invoice_id, "invoice")
            if invoice["status"] != "open":
                raise StripeError(400, f"This invoice is {invoice['status']}.")
            charge = self._charge(
                account, invoice["total"], invoice["currency"], invoice["customer"], None
            )
            invoice.update(
                status="paid",
                amount_paid=invoice["total"],
                amount_remaining=0,
                charge=charge["id"],
                status_transitions={"paid_at": self.now()},
            )
            return self.emit(account, "invoice.paid", invoice)

    def _invoice_paid(self, account, subscription, amount, reason) -> dict:
        invoice = self._invoice(account, subscription, amount, reason, "paid")
        self._charge(account, amount, invoice["currency"], subscription["customer"], None)
        self.emit(account, "invoice.paid", invoice)
        return invoice

    def renew(self, subscription_id: str, *, fail: bool = False) -> dict:
        """The next month's invoice: paid, or failing (the subscription goes past due)."""
        with self.lock:
            account = self.find_account(subscription_id)
            subscription = self._get(account, subscription_id, "subscription")
            item = subscription["items"]["data"][0]
            item["current_period_start"] = item["current_period_end"]
            item["current_period_end"] += 30 * 86400
            if fail:
                previous = {"status": subscription["status"]}
                subscription["status"] = "past_due"
                invoice = self._invoice(
                    account, subscription, subscription["_amount"], "subscription_cycle", "open"
                )
                self.emit(account, "invoice.payment_failed", invoice)
            else:
                previous = {"status": subscription["status"]}
                subscription["status"] = "active"
                invoice = self._invoice_paid(
                    account, subscription, subscription["_amount"], "subscription_cycle"
                )
            self.emit(
                account,
                "customer.subscription.updated",
                self._public(subscription),
                previous_attributes=previous,
            )
            return invoice

    def subscription_cancel(self, account: Account, subscription_id: str) -> dict:
        subscription = self._get(account, subscription_id, "subscription")
        now = self.now()
        subscription.update(status="canceled", canceled_at=now, ended_at=now)
        self.emit(account, "customer.subscription.deleted", self._public(subscription))
        return self._public(subscription)

    def checkout_expire(self, account: Account, session_id: str) -> dict:
        session = self._get(account, session_id, "checkout.session")
        if session["status"] != "open":
            raise StripeError(400, f"This checkout is {session['status']}.")
        session.update(status="expired", url=None)
        self.emit(account, "checkout.session.expired", self._public(session))
        return self._public(session)

    def refund(self, account: Account, charge_id: str, amount: str | int | None) -> dict:
        charge = self._get(account, charge_id, "charge")
        left = charge["amount"] - charge["amount_refunded"]
        amount = left if amount in (None, "") else int(amount)
        if not 0 < amount <= left:
            raise StripeError(400, "Refund amount is more than what is left on the charge.")
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] == charge["amount"]
        refund = self._store(
            account,
            {
                "id": _id("re"),
                "object": "refund",
                "amount": amount,
                "charge": charge_id,
                "currency": charge["currency"],
                "payment_intent": charge["payment_intent"],
                "status": "succeeded",
                "created": self.now(),
            },
        )
        self.emit(account, "charge.refunded", charge)
        return refund

    def dispute(self, charge_id: str, reason: str = "fraudulent") -> dict:
        with self.lock:
            account = self.find_account(charge_id)
            charge = self._get(account, charge_id, "charge")
            charge["disputed"] = True
            dispute = self._store(
                account,
                {
                    "id": _id("dp"),
                    "object": "dispute",
                    "amount": charge["amount"],
                    "charge": charge_id,
                    "currency": charge["currency"],
                    "payment_intent": charge["payment_intent"],
                    "reason": reason,
                    "status": "needs_response",
                    "created": self.now(),
                },
            )
            return self.emit(account, "charge.dispute.created", dispute)

    def charges(self, account: Account) -> list[dict]:
        return [o for o in account.objects.values() if o.get("object") == "charge"]

    # --- HTTP -------------------------------------------------------------------
    def serve(self, host: str = "127.0.0.1", port: int = 0) -> http.server.ThreadingHTTPServer:
        standin = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _answer(self, status: int, body: bytes, content_type: str, **headers):
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Stripe-Version", API_VERSION)
                for name, value in headers.items():
                    self.send_header(name.replace("_", "-"), value)
                self.end_headers()
                self.wfile.write(body)

            def _json(self, status: int, data: dict):
                self._answer(status, json.dumps(data).encode(), "application/json")

            def _handle(self, method: str):
                url = urllib.parse.urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                if url.path.startswith("/v1/"):
                    key = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
                    params = parse_form(body if method == "POST" else url.query)
                    try:
                        answer = standin.api(
                            method, url.path, key, params, self.headers.get("Idempotency-Key")
                        )
                    except StripeError as error:
                        return self._json(
                            error.status, {"error": {"type": error.kind, "message": str(error)}}
                        )
                    except (KeyError, ValueError) as error:
                        return self._json(
                            400,
                            {
                                "error": {
                                    "type": "invalid_request_error",
                                    "message": f"Missing or bad parameter: {error}",
                                }
                            },
                        )
                    return self._json(200, standin._public(answer))
                try:
                    return pages(standin, self, method, url, parse_form(body))
                except StripeError as error:
                    return self._answer(
                        error.status,
                        page("Stand-in", f"<p>{html.escape(str(error))}</p>"),
                        "text/html; charset=utf-8",
                    )

            def do_GET(self):
                self._handle("GET")

            def do_POST(self):
                self._handle("POST")

            def do_DELETE(self):
                self._handle("DELETE")

        server = http.server.ThreadingHTTPServer((host, port), Handler)
        self.base_url = f"http://{host}:{server.server_port}"
        return server


def page(title: str, body: str) -> bytes:
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>{html.escape(title)}</title>
<style>
body{{font:16px system-ui,sans-serif;max-width:46rem;margin:2rem auto;
  padding:0 1rem;color:#1a1f36}}
.card{{border:1px solid #e3e8ee;border-radius:8px;padding:1.25rem;margin:1rem 0}}
button{{background:#635bff;color:#fff;border:0;border-radius:6px;
  padding:.6rem 1.2rem;font-size:1rem;cursor:pointer}}
button.secondary{{background:#fff;color:#635bff;border:1px solid #635bff}}
.note{{color:#697386;font-size:.9rem}} code{{background:#f6f9fc;padding:.1rem .3rem}}
table{{border-collapse:collapse;width:100%}}
td,th{{text-align:left;padding:.3rem;border-bottom:1px solid #e3e8ee}}
</style></head><body><p class="note">Stripe stand-in (local test double; no real payments)</p>
{body}</body></html>""".encode()


def pages(standin: StandIn, handler, method: str, url, form: dict) -> None:
    """The hosted checkout page and a small dashboard, as a coach would use Stripe's."""
    parts = url.path.strip("/").split("/")
    send = lambda body: handler._answer(200, body, "text/html; charset=utf-8")  # noqa: E731
    redirect = lambda to: handler._answer(303, b"", "text/plain", Location=to)  # noqa: E731
    if parts[0] == "checkout" and len(parts) >= 2:
        session_id = parts[1]
        account = standin.find_account(session_id)
        session = account.objects[session_id]
        if method == "POST" and parts[-1] == "pay":
            standin.pay(session_id)
            return redirect(session["success_url"].replace("{CHECKOUT_SESSION_ID}", session_id))
        if session["status"] != "open":
            return send(page("Checkout", f"<p>This checkout is {session['status']}.</p>"))
        product = account.objects[account.objects[session["_price"]]["product"]]
        every = " per month" if session["mode"] == "subscription" else ""
        return send(
            page(
                "Checkout",
                f"""<h1>{html.escape(account.name)}</h1><div class="card">
<h2>{html.escape(product["name"])}</h2>
<p><strong>{money_shown(session["amount_total"], session["currency"])}{every}</strong></p>
<p>E-mail: {html.escape(session["customer_email"] or "")}</p>
<form method="post" action="/checkout/{session_id}/pay"><button>Pay</button></form>
<p><a href="{html.escape(session["cancel_url"] or "/")}">Back (cancel)</a></p></div>""",
            )
        )
    if parts[0] == "invoice" and len(parts) >= 2:
        invoice_id = parts[1]
        account = standin.find_account(invoice_id)
        invoice = account.objects[invoice_id]
        if method == "POST" and parts[-1] == "pay":
            standin.invoice_pay(invoice_id)
            return redirect(f"/invoice/{invoice_id}")
        items = "".join(
            f"<tr><td>{html.escape(line['description'] or '')}</td>"
            f"<td>{money_shown(line['amount'], invoice['currency'])}</td></tr>"
            for line in invoice["lines"]["data"]
        )
        action = (
            f'<form method="post" action="/invoice/{invoice_id}/pay"><button>Pay</button></form>'
            if invoice["status"] == "open"
            else f"<p>This invoice is {html.escape(invoice['status'])}.</p>"
        )
        return send(
            page(
                "Invoice",
                f"""<h1>{html.escape(account.name)}</h1><div class="card">
<h2>Invoice {html.escape(invoice.get("number") or invoice_id)}</h2>
<p>To {html.escape(invoice.get("customer_name") or "")}
({html.escape(invoice.get("customer_email") or "")})</p>
<p>{html.escape(invoice.get("description") or "")}</p>
<table>{items}</table>
<p><strong>Total {money_shown(invoice["total"], invoice["currency"])}</strong></p>{action}</div>""",
            )
        )
    if parts[0] == "dashboard" and method == "POST":
        action = form.get("action")
        account = standin.accounts[form["key"]]
        with standin.lock:
            if action == "endpoint":
                standin.api("POST", "/v1/webhook_endpoints", account.secret_key, form, None)
            elif action == "refund":
                standin.refund(account, form["charge"], form.get("amount") or None)
            elif action == "dispute":
                standin.dispute(form["charge"])
            elif action in ("renew", "fail"):
                standin.renew(form["subscription"], fail=action == "fail")
            elif action == "cancel":
                standin.subscription_cancel(account, form["subscription"])
            elif action == "expire":
                standin.checkout_expire(account, form["session"])
        return redirect("/")
    rows = []
    for account in standin.accounts.values():
        key = html.escape(account.secret_key)
        hidden = f'<input type="hidden" name="key" value="{key}">'
        endpoints = "".join(
            f"<li><code>{html.escape(e['url'])}</code> — signing secret "
            f"<code>{html.escape(e['secret'])}</code></li>"
            for e in account.endpoints
        )
        charges = "".join(
            f"<tr><td>{c['id']}</td><td>{money_shown(c['amount'], c['currency'])}</td>"
            f"<td>{money_shown(c['amount_refunded'], c['currency'])} refunded</td><td>"
            f'<form method="post" action="/dashboard" style="display:inline">{hidden}'
            f'<input type="hidden" name="charge" value="{c["id"]}">'
            f'<input name="amount" size="6" placeholder="cents">'
            f'<button name="action" value="refund">Refund</button> '
            f'<button class="secondary" name="action" value="dispute">Dispute</button></form>'
            f"</td></tr>"
            for c in standin.charges(account)
        )
        subscriptions = "".join(
            f"<tr><td>{s['id']}</td><td>{s['status']}</td><td>"
            f'<form method="post" action="/dashboard">{hidden}'
            f'<input type="hidden" name="subscription" value="{s["id"]}">'
            f'<button name="action" value="renew">Renew (pay next month)</button> '
            f'<button class="secondary" name="action" value="fail">Fail next payment</button> '
            f'<button class="secondary" name="action" value="cancel">Cancel</button></form>'
            f"</td></tr>"
            for s in account.objects.values()
            if s.get("object") == "subscription" and s["status"] != "canceled"
        )
        events = "".join(
            f"<tr><td>{e['type']}</td><td>{e['id']}</td></tr>" for e in account.events[-15:]
        )
        deliveries = "".join(
            f"<tr><td>{event_id}</td><td>{html.escape(str(outcome))}</td></tr>"
            for event_id, _, outcome in account.deliveries[-15:]
        )
        rows.append(
            f"""<div class="card"><h2>{html.escape(account.name)} <small>{account.id}</small></h2>
<p class="note">Secret key <code>{key[:12]}…</code></p>
<h3>Webhook endpoints</h3><ul>{endpoints or "<li>None yet.</li>"}</ul>
<form method="post" action="/dashboard">{hidden}<input type="hidden" name="action" value="endpoint">
<input name="url" size="50" placeholder="https://…/webhooks/stripe/…/">
<button>Add endpoint</button></form>
<h3>Payments</h3><table>{charges or "<tr><td>None yet.</td></tr>"}</table>
<h3>Subscriptions</h3><table>{subscriptions or "<tr><td>None.</td></tr>"}</table>
<h3>Recent events</h3><table>{events}</table>
<h3>Recent deliveries</h3><table>{deliveries}</table></div>"""
        )
    return send(
        page(
            "Stripe stand-in",
            "<h1>Stripe stand-in</h1><p>Accounts appear once CoachHub uses their secret key "
            "(any key shaped like <code>sk_test_…</code> works).</p>" + "".join(rows),
        )
    )


def serve_forever(host: str = "127.0.0.1", port: int = 12111) -> None:
    standin = StandIn()
    server = standin.serve(host, port)
    print(f"Stripe stand-in on {standin.base_url} (dashboard at {standin.base_url}/)")
    server.serve_forever()
