"""The one error type every outside call raises: it says whether trying again can help, and
what kind of failure it was, so the pages can say it in plain words."""

from __future__ import annotations

from enum import StrEnum


class FailureKind(StrEnum):
    UNREACHABLE = "unreachable"  # no answer: network, DNS, timeout, connection refused
    KEY_REFUSED = "key_refused"  # the key is not valid, revoked, or lacks the permission
    REQUEST_REFUSED = "request_refused"  # the provider understood and said no
    PROVIDER_FAULT = "provider_fault"  # the provider's own error, or its rate limit


class IntegrationError(Exception):
    """A provider call failed. `permanent` means retrying cannot help (bad key, refused
    request); otherwise it was the network, a rate limit or the provider's own fault.
    The message is the provider's own text, for logs and stored records, not for pages."""

    def __init__(
        self,
        message: str,
        *,
        permanent: bool,
        provider: str = "",
        kind: FailureKind = FailureKind.PROVIDER_FAULT,
        code: str = "",
        retry_after: float | None = None,
    ):
        super().__init__(message)
        self.permanent = permanent
        self.provider = provider
        self.kind = kind
        self.code = code  # the provider's own error code (Slack's `already_in_channel`), if any
        self.retry_after = retry_after  # seconds the provider asked us to wait (HTTP 429)
