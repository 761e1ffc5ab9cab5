"""One-off invoices (a company's monthly statement): draft, items, finalize, send, void, and
the company paying on the hosted invoice page — with Stripe's rules and events."""

from __future__ import annotations

from .state import Account, State, StripeError, new_id


class Invoices(State):
    """Invoices sent to a customer to pay on Stripe's hosted page."""

    def _invoice_draft(self, account: Account, params: dict) -> dict:
        customer = self._get(account, params.get("customer", ""), "customer")
        if params.get("collection_method") == "send_invoice" and not params.get("days_until_due"):
            raise StripeError(400, "days_until_due is required to send an invoice.")
        return self._store(
            account,
            {
                "id": new_id("in"),
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
                "id": new_id("ii"),
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
                "id": new_id("il"),
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

    def _invoice_send(self, account: Account, invoice_id: str) -> dict:
        invoice = self._get(account, invoice_id, "invoice")
        if invoice["status"] != "open":
            raise StripeError(400, "Only open invoices can be sent.")
        self.emit(account, "invoice.sent", invoice)
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
