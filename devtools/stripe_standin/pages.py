"""The stand-in's web pages, as a buyer, a company and a coach would use Stripe's: the
hosted checkout page, the hosted invoice page, and a small dashboard (webhook endpoints
with their signing secret, payments to refund or dispute, subscriptions to renew, fail or
cancel, recent events and deliveries)."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from .money import money_shown

if TYPE_CHECKING:
    from .api import StandIn


def page(title: str, body: str) -> bytes:
    """A page in the stand-in's look, always labelled as a local test double."""
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
    """Answer a non-API request: `/checkout/<id>`, `/invoice/<id>` (and their `/pay`), or the
    dashboard (`/`, its actions POSTed to `/dashboard`)."""
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
        if session["_quantity"] > 1:
            unit = money_shown(session["amount_total"] // session["_quantity"], session["currency"])
            every += f" ({session['_quantity']} × {unit})"
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
