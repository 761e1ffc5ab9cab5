"""The one error type every outside call raises: it says whether trying again can help."""

from __future__ import annotations


class IntegrationError(Exception):
    """A provider call failed. `permanent` means retrying cannot help (bad key, refused
    request); otherwise it was the network, a rate limit or the provider's own fault."""

    def __init__(self, message: str, *, permanent: bool, provider: str = ""):
        super().__init__(message)
        self.permanent = permanent
        self.provider = provider
