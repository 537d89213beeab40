"""Service-to-service requests signed with a shared secret (HMAC-SHA256 over the body).

audit files a worker's contest in the register: the worker's own token says who, the signature
says that audit checked the contested event is on that worker's history. Neither alone is enough.
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-OHS-Intake-Signature"


def sign(secret: str, body: bytes) -> str:
    """The hex HMAC-SHA256 of a request body."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, signature: str | None) -> bool:
    """True when the signature is the body's under the secret (constant-time comparison)."""
    # Bytes: compare_digest refuses str with non-ASCII characters, which a header may carry.
    return bool(signature) and hmac.compare_digest(
        sign(secret, body).encode(), str(signature).encode()
    )
