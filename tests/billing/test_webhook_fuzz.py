"""Hostile deliveries to the Stripe webhook: every one is refused cleanly (400, or 413 for a
body over the limit) with nothing stored, or stored whole; an event whose object can
never be processed is marked invalid at once with the reason, never retried for hours.

Signatures are computed here from Stripe's documented scheme (HMAC-SHA256 of
"<t>.<body>"), not with the code under test.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass

import pytest
import stripe
from django_scopes import scopes_disabled
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing import events
from billing.models import EventSource, EventStatus, Purchase, StripeAccount, StripeEvent
from integrations.stripe.webhooks import MAX_BODY_BYTES, paid_from_checkout

from ..kit.factories import PracticeFactory
from ..kit.http import login
from ..kit.stripe import deliver

pytestmark = pytest.mark.django_db

DAY = 86_400
FUZZ = settings(
    max_examples=100,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@dataclass
class Hooked:
    practice: object
    webhook_secret: str


@pytest.fixture
def hooked(db) -> Hooked:
    """A practice with a webhook signing secret and nothing else: no Stripe is reached
    by what these deliveries make happen (`connected`, with the stand-in, where it is)."""
    practice = PracticeFactory()
    secret = "whsec_fuzz0123456789abcdefghijklmn"
    with scopes_disabled():
        StripeAccount.objects.create(
            practice=practice, secret_key="sk_test_fuzz0123456789", webhook_secret=secret
        )
    return Hooked(practice=practice, webhook_secret=secret)


def hmac_hex(body: bytes, secret: str, timestamp: int) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def signed(body: bytes, secret: str, *, at: int | None = None) -> str:
    at = int(time.time()) if at is None else at
    return f"t={at},v1={hmac_hex(body, secret, at)}"


def event(event_type: str = "customer.created", **object_fields) -> dict:
    """A well-formed event in Stripe's envelope."""
    return {
        "id": f"evt_{uuid.uuid4().hex}",
        "object": "event",
        "api_version": "2026-10-28.endive",
        "created": int(time.time()),
        "data": {"object": {"id": "cus_123", "object": "customer", **object_fields}},
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": event_type,
    }


def stored_count() -> int:
    """Events stored by deliveries (the world's practices start with one each, reconciled)."""
    with scopes_disabled():
        return StripeEvent.objects.filter(source=EventSource.WEBHOOK).count()


def post(client, target, body: bytes, signature: str | None):
    return deliver(client, target.practice, body, target.webhook_secret, signature=signature)


def assert_refused(response, status: int = 400) -> None:
    assert response.status_code == status, (response.status_code, response.content[:300])
    assert response.json()["error"]
    assert stored_count() == 0


# --- 1. Bodies that are not UTF-8 --------------------------------------------------------
def test_a_non_utf8_body_with_any_signature_header_is_400(hooked, client):
    """The issue's own reproduction: `\\xff{}` with `t=1,v1=00` was a 500."""
    assert_refused(post(client, hooked, b"\xff{}", "t=1,v1=00"))


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32", "latin-1"])
def test_a_validly_signed_event_in_another_encoding_is_400(hooked, client, encoding):
    """Stripe sends UTF-8; UTF-16 was a 500 (with a BOM) or stored (without one)."""
    body = json.dumps(event(description="café"), ensure_ascii=False).encode(encoding)
    assert_refused(post(client, hooked, body, signed(body, hooked.webhook_secret)))


# --- 2. The signature header, read once and strictly -------------------------------------
TIMESTAMP_FORMS = {
    "plus sign": "+{t}",
    "leading space": " {t}",
    "leading tab": "\t{t}",
    "trailing space": "{t} ",
    "digit separators": "{t_underscored}",
    "other script digits": "{t_arabic}",
    "negative zero": "-0",
}


def timestamp_written(form: str, at: int) -> str:
    text = str(at)
    return form.format(
        t=text,
        t_underscored=f"{text[:1]}_{text[1:]}",
        t_arabic=text.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")),
    )


@pytest.mark.parametrize("when", [DAY, 0], ids=["a day ahead", "now"])
@pytest.mark.parametrize("form", list(TIMESTAMP_FORMS.values()), ids=list(TIMESTAMP_FORMS))
def test_a_timestamp_that_is_not_plain_digits_is_refused(hooked, client, form, when):
    """`t=+T` with a valid HMAC for T a day ahead was stored: Stripe's library read it with
    int(), the future check with a regex that did not match. Now one strict reading."""
    body = json.dumps(event()).encode()
    at = int(time.time()) + when
    written = timestamp_written(form, at)
    header = f"t={written},v1={hmac_hex(body, hooked.webhook_secret, at)}"
    assert_refused(post(client, hooked, body, header))


SIGNATURE_HEADERS = {
    "empty": lambda body, secret, now: "",
    "garbage": lambda body, secret, now: "garbage",
    "no timestamp": lambda body, secret, now: f"v1={hmac_hex(body, secret, now)}",
    "no v1": lambda body, secret, now: f"t={now}",
    "only v0": lambda body, secret, now: f"t={now},v0={hmac_hex(body, secret, now)}",
    "timestamp twice": lambda body, secret, now: (
        f"t={now},t={now},v1={hmac_hex(body, secret, now)}"
    ),
    "a day ahead": lambda body, secret, now: signed(body, secret, at=now + DAY),
    "a day ahead, with a leading zero": lambda body, secret, now: (
        f"t=0{now + DAY},v1={hmac_hex(body, secret, now + DAY)}"
    ),
    "301 s ahead": lambda body, secret, now: signed(body, secret, at=now + 301),
    "301 s old": lambda body, secret, now: signed(body, secret, at=now - 301),
    "uppercase hex": lambda body, secret, now: signed(body, secret, at=now).upper(),
    "signed for another body": lambda body, secret, now: signed(body + b" ", secret, at=now),
    "another secret": lambda body, secret, now: signed(body, secret + "x", at=now),
    "a timestamp of 5000 digits": lambda body, secret, now: f"t={'9' * 5000},v1={'0' * 64}",
    "non-ASCII": lambda body, secret, now: f"t={now},v1={hmac_hex(body, secret, now)[:-1]}é",
    "spaces after commas": lambda body, secret, now: f"t={now}, v1={hmac_hex(body, secret, now)}",
}


@pytest.mark.parametrize("make", list(SIGNATURE_HEADERS.values()), ids=list(SIGNATURE_HEADERS))
def test_bad_signature_headers_are_400_and_store_nothing(hooked, client, make):
    body = json.dumps(event()).encode()
    header = make(body, hooked.webhook_secret, int(time.time()))
    response = post(client, hooked, body, header) if header else post(client, hooked, body, "")
    assert_refused(response)


@pytest.mark.parametrize(
    "make",
    [
        lambda body, secret, now: signed(body, secret, at=now - 290),
        lambda body, secret, now: signed(body, secret, at=now + 290),
        # Stripe sends two v1 values while a secret is rolled, and may add other schemes.
        lambda body, secret, now: f"t={now},v1={'0' * 64},v1={hmac_hex(body, secret, now)},v0=ab",
    ],
    ids=["290 s old", "290 s ahead", "one good v1 among several"],
)
def test_signatures_stripe_sends_are_accepted(hooked, client, make):
    body = json.dumps(event()).encode()
    response = post(client, hooked, body, make(body, hooked.webhook_secret, int(time.time())))
    assert response.status_code == 200, response.content
    assert stored_count() == 1


def test_a_header_made_by_stripes_own_library_is_accepted(hooked, client):
    """The scheme is Stripe's: the `stripe` library's own signer is understood."""
    text = json.dumps(event())
    header = stripe.WebhookSignature.generate_signature_header(text, hooked.webhook_secret)
    assert post(client, hooked, text.encode(), header).status_code == 200


# --- 3. Validly signed events that cannot be stored --------------------------------------
def with_fields(**fields) -> bytes:
    data = event()
    for name, value in fields.items():
        if value is DROP:
            del data[name]
        else:
            data[name] = value
    return json.dumps(data).encode()


DROP = object()


def nested(depth: int) -> bytes:
    envelope = json.dumps(event())
    deep = "[" * depth + "]" * depth
    return envelope.replace('"id": "cus_123"', f'"id": "cus_123", "deep": {deep}').encode()


def raw_value(text: str) -> bytes:
    return json.dumps(event(amount=0)).replace('"amount": 0', f'"amount": {text}').encode()


MALFORMED = {
    "created as text": with_fields(created="abc"),
    "created as an ISO time": with_fields(created="2026-12-01T10:00:00Z"),
    "created as 1e20": with_fields(created=1e20),
    "created as a huge integer": with_fields(created=10**20),
    "created negative": with_fields(created=-1),
    "created as a list": with_fields(created=[1]),
    "created as an object": with_fields(created={"at": 1}),
    "created as true": with_fields(created=True),
    "no created": with_fields(created=DROP),
    "an id of 256 characters": with_fields(id="e" * 256),
    "a type of 101 characters": with_fields(type="t" * 101),
    "an empty id": with_fields(id=""),
    "an id that is a number": with_fields(id=42),
    "no id": with_fields(id=DROP),
    "no type": with_fields(type=DROP),
    "no data": with_fields(data=DROP),
    "data.object a list": with_fields(data={"object": []}),
    "NUL in a value": json.dumps(event(name="a\x00b")).encode(),
    "NUL in a key": json.dumps(event(metadata={"a\x00": "b"})).encode(),
    "NUL in the id": with_fields(id="evt_\x00"),
    "a lone surrogate": json.dumps(event(name="\ud800")).encode(),
    "a lone low surrogate in a key": json.dumps(event(metadata={"\udfff": "x"})).encode(),
    "NaN": raw_value("NaN"),
    "Infinity": raw_value("Infinity"),
    "-Infinity": raw_value("-Infinity"),
    "1e400": raw_value("1e400"),
    "-1e400": raw_value("-1e400"),
    "an integer of 5000 digits": raw_value("9" * 5000),
    "nested 2,000 deep": nested(2000),
    "nested 100 deep": nested(100),
    "a raw control character in a string": json.dumps(event(name="x"))
    .replace("x", "\x01")
    .encode(),
    "a UTF-8 byte order mark": b"\xef\xbb\xbf" + json.dumps(event()).encode(),
    "a list": b"[]",
    "a string": b'"evt_1"',
    "a number": b"1",
    "null": b"null",
    "empty": b"",
    "truncated": json.dumps(event()).encode()[:-1],
}


@pytest.mark.parametrize("body", list(MALFORMED.values()), ids=list(MALFORMED))
def test_signed_events_that_cannot_be_stored_are_400_and_store_nothing(hooked, client, body):
    """These were 500s (Stripe retries those for three days) or half-stored rows."""
    assert_refused(post(client, hooked, body, signed(body, hooked.webhook_secret)))


def test_the_column_widths_are_the_limits(hooked, client):
    """An id of 255 and a type of 100 characters (the event model's columns) are kept."""
    body = with_fields(id="e" * 255, type="t" * 100)
    assert post(client, hooked, body, signed(body, hooked.webhook_secret)).status_code == 200
    with scopes_disabled():
        row = StripeEvent.objects.get(source=EventSource.WEBHOOK)
    assert (len(row.stripe_id), len(row.type)) == (255, 100)


# --- Huge bodies ------------------------------------------------------------------------
def padded(size: int) -> bytes:
    body = json.dumps(event(padding=""))
    return body.replace('"padding": ""', f'"padding": "{"x" * (size - len(body))}"').encode()


def test_a_body_over_the_limit_is_413_and_stores_nothing(hooked, client):
    body = padded(MAX_BODY_BYTES + 1)
    assert len(body) == MAX_BODY_BYTES + 1
    assert_refused(post(client, hooked, body, signed(body, hooked.webhook_secret)), 413)


def test_a_declared_length_over_the_limit_is_413_before_the_body_is_read(hooked, client):
    response = client.post(
        f"/webhooks/stripe/{hooked.practice.public_id}/",
        data=b"{}",
        content_type="application/json",
        CONTENT_LENGTH=str(50 * MAX_BODY_BYTES),
        HTTP_STRIPE_SIGNATURE="t=1,v1=00",
    )
    assert_refused(response, 413)


def test_a_body_at_the_limit_is_accepted(hooked, client):
    body = padded(MAX_BODY_BYTES)
    assert len(body) == MAX_BODY_BYTES
    response = post(client, hooked, body, signed(body, hooked.webhook_secret))
    assert response.status_code == 200
    assert stored_count() == 1


# --- 3. Stored events whose object can never be processed: invalid at once --------------
def subscription_invoice(**fields) -> dict:
    invoice = {
        "id": "in_1",
        "object": "invoice",
        "customer": "cus_1",
        "amount_paid": 4000,
        "parent": {
            "type": "subscription_details",
            "subscription_details": {
                "subscription": "sub_1",
                "metadata": {"coachhub_checkout": str(uuid.uuid4())},
            },
        },
    }
    invoice.update(fields)
    return invoice


def typed(event_type: str, obj: dict) -> dict:
    data = event(event_type)
    data["data"]["object"] = obj
    return data


CHECKOUT = {"id": "cs_1", "object": "checkout.session", "payment_status": "paid"}
NEVER_PROCESSABLE = {
    "invoice without an id": (
        typed("invoice.paid", {k: v for k, v in subscription_invoice().items() if k != "id"}),
        "data.object.id is missing",
    ),
    "amount_paid as text": (
        typed("invoice.paid", subscription_invoice(amount_paid="abc")),
        "amount_paid",
    ),
    "amount_paid over what can be stored": (
        typed("invoice.paid", subscription_invoice(amount_paid=10**12)),
        "amount_paid",
    ),
    "parent as text": (typed("invoice.paid", subscription_invoice(parent="sub_1")), "parent"),
    "payments holding text": (
        typed("invoice.paid", subscription_invoice(payments={"data": ["pi_1"]})),
        "payments",
    ),
    "subscription metadata as a list": (
        typed(
            "customer.subscription.updated",
            {"id": "sub_1", "object": "subscription", "metadata": ["coachhub_checkout"]},
        ),
        "metadata",
    ),
    "a checkout reference that is not a checkout id": (
        typed(
            "customer.subscription.created",
            {"id": "sub_1", "object": "subscription", "metadata": {"coachhub_checkout": "abc"}},
        ),
        "not a checkout id",
    ),
    "a metadata value that is a number": (
        typed("customer.subscription.created", {"id": "sub_1", "metadata": {"note": 1}}),
        "metadata value",
    ),
    "a customer id of 300 characters": (
        typed("customer.subscription.deleted", {"id": "sub_1", "customer": "c" * 300}),
        "customer",
    ),
    "amount_total as a decimal text": (
        typed(
            "checkout.session.completed",
            {**CHECKOUT, "client_reference_id": str(uuid.uuid4()), "amount_total": "12.50"},
        ),
        "amount_total",
    ),
    "a currency that is not a code": (
        typed(
            "checkout.session.completed",
            {**CHECKOUT, "metadata": {"coachhub_checkout": str(uuid.uuid4())}, "currency": "euros"},
        ),
        "currency",
    ),
    "a negative refund": (
        typed("charge.refunded", {"id": "ch_1", "customer": "cus_1", "amount_refunded": -5}),
        "amount_refunded",
    ),
    "a dispute whose reason is an object": (
        typed("charge.dispute.created", {"id": "dp_1", "charge": "ch_1", "reason": {"x": 1}}),
        "reason",
    ),
    "an invoice under a charge's type": (
        typed("charge.refunded", {"id": "in_1", "object": "invoice"}),
        "not a 'charge'",
    ),
    "a subscription without an id": (
        typed("customer.subscription.created", {"object": "subscription", "metadata": {}}),
        "data.object.id is missing",
    ),
}


@pytest.mark.parametrize(
    "data, reason", list(NEVER_PROCESSABLE.values()), ids=list(NEVER_PROCESSABLE)
)
def test_a_stored_event_that_can_never_succeed_is_invalid_at_once_with_the_reason(
    hooked, client, django_capture_on_commit_callbacks, data, reason
):
    """These were retried eight times over two hours, then given up without a reason."""
    body = json.dumps(data).encode()
    with scopes_disabled():
        purchases = Purchase.objects.count()
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, hooked, body, signed(body, hooked.webhook_secret))
    assert response.status_code == 200
    with scopes_disabled():
        row = StripeEvent.objects.get(stripe_id=data["id"])
        assert Purchase.objects.count() == purchases  # nothing half-done
    assert row.status == EventStatus.INVALID
    assert row.attempts == 1
    assert reason in row.last_error
    # Processing it again (a redelivered task message) gives the same answer, at once.
    with scopes_disabled():
        assert events.event_process(event_id=row.pk) == EventStatus.INVALID


def test_an_error_raised_while_reading_the_object_is_invalid_and_one_below_is_retried(
    hooked, monkeypatch
):
    """A reading error (a KeyError in a Stripe reader) is the object's fault and final; the
    same error class raised by code below the handler may pass, so the event is retried."""

    def reads_the_object(event, reads):
        paid_from_checkout(event.data_object)  # a checkout session has an id; this has none

    def below_the_handler(event, reads):
        raise TypeError("a bug in a service, not the event's fault")

    monkeypatch.setitem(events.HANDLERS, "test.reads_the_object", reads_the_object)
    monkeypatch.setitem(events.HANDLERS, "test.below_the_handler", below_the_handler)
    first, second = typed("test.reads_the_object", {}), typed("test.below_the_handler", {})
    with scopes_disabled():
        for data in (first, second):
            events.event_store(
                practice_id=hooked.practice.pk, data=data, source=EventSource.WEBHOOK
            )
        rows = {row.type: row for row in StripeEvent.objects.filter(type__startswith="test.")}
    with scopes_disabled():  # as the task's practice scope
        outcome = events.event_process(event_id=rows["test.reads_the_object"].pk)
        with pytest.raises(TypeError):
            events.event_process(event_id=rows["test.below_the_handler"].pk)
        invalid = StripeEvent.objects.get(type="test.reads_the_object")
        failed = StripeEvent.objects.get(type="test.below_the_handler")
    assert outcome == invalid.status == EventStatus.INVALID
    assert invalid.last_error.startswith("KeyError")
    assert failed.status == EventStatus.FAILED


def test_the_stripe_page_shows_an_invalid_event_and_its_reason(
    connected, client, world, django_capture_on_commit_callbacks
):
    data, reason = NEVER_PROCESSABLE["amount_paid as text"]
    body = json.dumps(data).encode()
    with django_capture_on_commit_callbacks(execute=True):
        post(client, connected, body, signed(body, connected.webhook_secret))
    page = login(world.home.owner, world.home.practice).get("/billing/stripe/").content.decode()
    assert "Invalid — cannot be processed as sent" in page
    assert "data.object.amount_paid is not an amount in minor units" in page
    assert "1 event could not be processed as Stripe sent it" in page
    assert "Process again" in page


def test_reconciliation_skips_an_event_it_cannot_store_and_takes_the_rest(
    connected, standin, django_capture_on_commit_callbacks
):
    account = standin.account(connected.secret_key)
    good = standin.emit(account, "customer.created", {"id": "cus_9", "object": "customer"})
    bad = standin.emit(account, "customer.created", {"id": "cus_8", "object": "customer"})
    bad["type"] = "t" * 101  # wider than the event model's column
    with scopes_disabled():
        seen, new = events.stripe_reconcile(practice=connected.practice)
        taken = StripeEvent.objects.filter(stripe_id__in=[good["id"], bad["id"]])
        assert list(taken.values_list("stripe_id", flat=True)) == [good["id"]]
    assert new == 1


# --- The fuzz ---------------------------------------------------------------------------
HEADER_FORMS = st.sampled_from(list(TIMESTAMP_FORMS.values()) + ["{t}"] * 4)


@st.composite
def deliveries(draw):
    """(body, header): bodies of any bytes or encodings, headers of any text or signed
    for the body with any timestamp form and offset."""
    body = draw(
        st.one_of(
            st.binary(max_size=200),
            st.text(max_size=60).map(lambda text: text.encode("utf-8")),
            st.text(max_size=60).map(lambda text: text.encode("utf-16")),
            st.just(json.dumps(event()).encode()),
            st.just(json.dumps(event())).map(lambda text: text.encode("utf-16-le")),
        )
    )
    kind = draw(st.sampled_from(["text", "signed"]))
    if kind == "text":
        return body, draw(st.text(max_size=120))
    return body, None


@FUZZ
@given(delivery=deliveries(), form=HEADER_FORMS, offset=st.integers(-2 * DAY, 2 * DAY))
def test_fuzz_any_body_with_any_header_is_answered_cleanly(hooked, client, delivery, form, offset):
    body, header = delivery
    at = int(time.time()) + offset
    if header is None:
        written = timestamp_written(form, at)
        header = f"t={written},v1={hmac_hex(body, hooked.webhook_secret, at)}"
    before = stored_count()
    response = post(client, hooked, body, header)
    assert response.status_code in (200, 400), response.status_code
    if response.status_code == 400:
        assert stored_count() == before
    else:  # only a plain-digit timestamp within the tolerance, over an event we can store
        assert form == "{t}" and abs(offset) <= 300


JSON_TEXT = st.one_of(
    st.text(max_size=20),
    st.sampled_from(["\x00", "a\x00b", "\ud800", "x\udfff", "é", "\u2028", "evt_1", ""]),
)
JSON_VALUES = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.floats(allow_nan=True, allow_infinity=True),
        JSON_TEXT,
    ),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(JSON_TEXT, children, max_size=3)
    ),
    max_leaves=12,
)
ENVELOPE_FIELDS = st.sampled_from(["id", "type", "created", "data", "livemode", "object"])


@FUZZ
@given(
    replaced=st.dictionaries(ENVELOPE_FIELDS, JSON_VALUES, max_size=3),
    extra=JSON_VALUES,
    depth=st.integers(0, 80),
)
def test_fuzz_signed_json_is_stored_whole_or_refused(hooked, client, replaced, extra, depth):
    data = event(extra=extra)
    data.update(replaced)
    if isinstance(data.get("data"), dict) and isinstance(data["data"].get("object"), dict):
        nest: object = "bottom"
        for _ in range(depth):
            nest = [nest]
        data["data"]["object"]["nest"] = nest
    body = json.dumps(data).encode()
    before = stored_count()
    response = post(client, hooked, body, signed(body, hooked.webhook_secret))
    assert response.status_code in (200, 400), response.status_code
    if response.status_code == 400:
        assert stored_count() == before
        return
    with scopes_disabled():
        row = StripeEvent.objects.get(practice=hooked.practice, stripe_id=data["id"])
    if not response.json()["duplicate"]:
        assert same_json(row.payload, json.loads(body))


def same_json(stored, sent) -> bool:
    """Equal as JSON: PostgreSQL keeps a number as a decimal, so 4.8e+16 comes back as the
    integer 48000000000000000 — the same number to a JSON reader."""
    numbers = (int, float)
    if isinstance(stored, numbers) and isinstance(sent, numbers):
        if isinstance(stored, bool) or isinstance(sent, bool):
            return stored is sent
        return stored == sent or float(stored) == float(sent)
    if isinstance(stored, dict) and isinstance(sent, dict):
        return stored.keys() == sent.keys() and all(same_json(stored[k], sent[k]) for k in sent)
    if isinstance(stored, list) and isinstance(sent, list):
        return len(stored) == len(sent) and all(map(same_json, stored, sent))
    return type(stored) is type(sent) and stored == sent


NO_SUCH_CHECKOUT = "7a4f2c0e-3b1d-4e5f-9a8b-0c1d2e3f4a5b"
# One object of each handled kind as Stripe sends it; the fuzz changes, adds or drops fields.
WELL_FORMED = {
    "checkout.session": {
        **CHECKOUT,
        "metadata": {"coachhub_checkout": NO_SUCH_CHECKOUT},
        "amount_total": 12000,
        "currency": "eur",
        "customer": "cus_1",
        "payment_intent": "pi_1",
    },
    "customer.subscription": {
        "id": "sub_1",
        "object": "subscription",
        "status": "active",
        "customer": "cus_1",
        "metadata": {"coachhub_checkout": NO_SUCH_CHECKOUT},
        "cancel_at_period_end": False,
    },
    "invoice": subscription_invoice(),
    "charge": {"id": "ch_1", "object": "charge", "payment_intent": "pi_1", "amount_refunded": 9},
    "charge.dispute": {"id": "dp_1", "object": "dispute", "charge": "ch_1", "reason": "fraudulent"},
}
FIELDS = sorted({name for obj in WELL_FORMED.values() for name in obj} | {"subscription"})
PLAUSIBLE = st.one_of(
    st.sampled_from(
        ["cus_1", "sub_1", "pi_1", "ch_1", "in_1", "paid", "usd", "", NO_SUCH_CHECKOUT]
    ),
    st.integers(min_value=-1, max_value=2**32),
    st.booleans(),
    st.dictionaries(st.sampled_from(["coachhub_checkout", "id", "data"]), JSON_VALUES, max_size=2),
)
HANDLED_TYPES = st.sampled_from(sorted(events.HANDLERS))
# What may keep an event waiting for a retry: something it names is not known yet.
WAITING = ("NotYetProcessable", "IntegrationError", "ValueError: No checkout")


@settings(FUZZ, max_examples=60)
@given(
    event_type=HANDLED_TYPES,
    changed=st.dictionaries(st.sampled_from(FIELDS), st.one_of(PLAUSIBLE, JSON_VALUES), max_size=3),
    dropped=st.sets(st.sampled_from(FIELDS), max_size=2),
)
def test_fuzz_signed_events_of_handled_types_never_fail_for_their_shape(
    connected, client, django_capture_on_commit_callbacks, event_type, changed, dropped
):
    """Processed, ignored, invalid with a reason, or waiting for what they name: never an
    error that a retry cannot change."""
    obj = json.loads(json.dumps(WELL_FORMED[event_type.rsplit(".", 1)[0]]))
    obj.update(changed)
    for name in dropped:
        obj.pop(name, None)
    data = typed(event_type, obj)
    body = json.dumps(data).encode()
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, connected, body, signed(body, connected.webhook_secret))
    assert response.status_code in (200, 400), response.status_code
    if response.status_code == 400:
        return
    with scopes_disabled():
        row = StripeEvent.objects.get(stripe_id=data["id"])
    if row.status == EventStatus.INVALID:
        assert row.last_error
    elif row.status == EventStatus.FAILED:
        assert row.last_error.startswith(WAITING), row.last_error
    else:
        assert row.status in (EventStatus.PROCESSED, EventStatus.IGNORED)
