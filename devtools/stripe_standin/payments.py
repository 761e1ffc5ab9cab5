"""What buyers and the coach do at "Stripe": open a checkout, pay, renew or fail a
subscription's month, cancel, let a checkout expire, refund and dispute — each producing
the objects and events Stripe would, in Stripe's order."""

from __future__ import annotations

from .state import Account, State, StripeError, new_id


class Payments(State):
    """Checkouts, subscriptions, charges, refunds and disputes."""

    def _checkout_create(self, account: Account, params: dict) -> dict:
        line = (params.get("line_items") or [{}])[0]
        price = self._get(account, line.get("price", ""), "price")
        quantity = int(line.get("quantity", 1))
        if not 1 <= quantity <= 999_999:
            raise StripeError(400, "line_items[0][quantity] must be between 1 and 999999.")
        mode = params.get("mode", "payment")
        if (mode == "subscription") != bool(price["recurring"]):
            raise StripeError(400, "The price type does not match the checkout mode.")
        now = self.now()
        expires_at = int(params.get("expires_at") or now + 24 * 3600)
        if not now + 30 * 60 - 5 <= expires_at <= now + 24 * 3600 + 5:
            raise StripeError(400, "expires_at must be between 30 minutes and 24 hours away.")
        session_id = new_id("cs_live" if account.livemode else "cs_test")
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
                    "id": new_id("cus"),
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
                        "id": new_id("pi"),
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

    def _subscription_create(self, account, session, customer, price) -> dict:
        start = self.now()
        return self._store(
            account,
            {
                "id": new_id("sub"),
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
                            "id": new_id("si"),
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
        """A subscription's invoice, in the 2025+ shape (`parent.subscription_details`)."""
        item = subscription["items"]["data"][0]
        return self._store(
            account,
            {
                "id": new_id("in"),
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
        """Money back on a charge (all that is left when `amount` is empty): `charge.refunded`."""
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
                "id": new_id("re"),
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
        """The card holder disputes a charge: `charge.dispute.created`."""
        with self.lock:
            account = self.find_account(charge_id)
            charge = self._get(account, charge_id, "charge")
            charge["disputed"] = True
            dispute = self._store(
                account,
                {
                    "id": new_id("dp"),
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
