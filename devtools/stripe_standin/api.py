"""The HTTP face of the stand-in: the `/v1/…` endpoints the real `stripe` library calls
(form-encoded requests, `Idempotency-Key` replays, Stripe's error bodies), and everything
else handed to the hosted pages and the dashboard (`pages.py`)."""

from __future__ import annotations

import html
import http.server
import json
import re
import secrets
import urllib.parse
from typing import Any

from .invoices import Invoices
from .pages import page, pages
from .payments import Payments
from .state import API_VERSION, Account, StripeError, new_id


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


class StandIn(Payments, Invoices):
    """The stand-in's state and behaviour; `serve()` puts it on HTTP."""

    def api(self, method: str, path: str, key: str, params: dict, idem: str | None) -> dict:
        """One API call, as Stripe answers it: the same idempotency key replays the answer."""
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
                        "id": new_id("prod"),
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
                        "id": new_id("price"),
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
                    "id": new_id("we"),
                    "object": "webhook_endpoint",
                    "url": params["url"],
                    "secret": "whsec_" + secrets.token_urlsafe(24),
                    "enabled_events": ["*"],
                    "status": "enabled",
                }
                account.endpoints.append(endpoint)
                return endpoint
            case "GET", ["charges", charge_id]:
                return self._public(self._get(account, charge_id, "charge"))
            case "POST", ["refunds"]:
                return self.refund(account, params.get("charge", ""), params.get("amount"))
            case "POST", ["customers"]:
                return self._store(
                    account,
                    {
                        "id": new_id("cus"),
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
                return self._invoice_send(account, invoice_id)
        raise StripeError(404, f"Unrecognized request URL ({method}: {path}).")

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

    # --- HTTP -------------------------------------------------------------------
    def serve(self, host: str = "127.0.0.1", port: int = 0) -> http.server.ThreadingHTTPServer:
        """A threading HTTP server for this stand-in (port 0: any free port); not started."""
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


def serve_forever(host: str = "127.0.0.1", port: int = 12111) -> None:
    """Run a fresh stand-in on host:port until interrupted."""
    standin = StandIn()
    server = standin.serve(host, port)
    print(f"Stripe stand-in on {standin.base_url} (dashboard at {standin.base_url}/)", flush=True)
    server.serve_forever()
