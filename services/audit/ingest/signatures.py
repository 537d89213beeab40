"""Which envelopes the store accepts: those signed by a key of the source they claim.

Each publishing source signs the exact value bytes it publishes (Ed25519, `common.signing`)
and carries the base64 signature and the key id in the Kafka headers `sig` and `kid`. The
audit service knows each source's public keys from its configuration only (several per source:
a retired key stays valid for the events it signed). Anything else — unsigned, a bad
signature, an unknown kid, the kid of another source, or a source_seq the store already holds
under another event_id — is quarantined and raises a `forged_event` alert, never a history
entry.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey
from sqlalchemy.ext.asyncio import AsyncSession

from audit.core.models import RuleSettings, StoredEvent, derived_id
from audit.core.trail import forged_detected
from common.events import TOPIC_BY_SOURCE
from common.signing import (
    KID_HEADER,
    SIG_HEADER,
    Headers,
    SigningKeyError,
    header,
    kid_of,
    load_public_key,
)

if TYPE_CHECKING:
    from audit.ingest.service import Poison
    from audit.settings import Settings
    from audit.store.service import Incoming

log = logging.getLogger("ohs.audit.signatures")
MAX_LISTED = 50


def _key_entry(source: str, kid: str | None, text: str) -> tuple[str, Ed25519PublicKey]:
    if source not in TOPIC_BY_SOURCE:
        raise SigningKeyError(f"source keys: {source!r} is not a publishing source")
    key = load_public_key(text)
    actual = kid_of(key)
    if kid is not None and kid != actual:
        raise SigningKeyError(f"source keys: kid {kid} of {source} is not its key's ({actual})")
    return actual, key


def parse_source_keys(text: str) -> dict[str, dict[str, Ed25519PublicKey]]:
    """ "identity:kid=base64,records:base64,..." (kid optional, checked when given)."""
    keys: dict[str, dict[str, Ed25519PublicKey]] = {}
    for item in text.replace("\n", ",").split(","):
        item = item.strip()
        if not item:
            continue
        source, sep, rest = item.partition(":")
        if not sep or not rest:
            raise SigningKeyError(f"source keys: {item[:40]!r} is not source:kid=key")
        kid, eq, b64 = rest.partition("=")
        if eq and len(kid) == 16 and all(c in "0123456789abcdef" for c in kid):
            found, key = _key_entry(source.strip(), kid, b64)
        else:
            found, key = _key_entry(source.strip(), None, rest)
        keys.setdefault(source.strip(), {})[found] = key
    return keys


def parse_source_keys_json(document: Any) -> dict[str, dict[str, Ed25519PublicKey]]:
    """{"records": {"<kid>": "<base64>"} | ["<base64>", ...] | "<base64>", ...}."""
    if not isinstance(document, Mapping):
        raise SigningKeyError("source keys file: a JSON object by source is expected")
    keys: dict[str, dict[str, Ed25519PublicKey]] = {}
    for source, value in document.items():
        entries: Iterable[tuple[str | None, Any]]
        if isinstance(value, Mapping):
            entries = value.items()
        elif isinstance(value, list):
            entries = ((None, v) for v in value)
        else:
            entries = [(None, value)]
        for kid, text in entries:
            if not isinstance(text, str):
                raise SigningKeyError(f"source keys file: a key of {source} is not a string")
            found, key = _key_entry(str(source), kid, text)
            keys.setdefault(str(source), {})[found] = key
    return keys


def _verified(verifier: VerifyKey, data: bytes, signature_b64: bytes) -> bool:
    try:
        verifier.verify(data, base64.b64decode(signature_b64, validate=True))
    except (BadSignatureError, binascii.Error, ValueError, TypeError):
        return False
    return True


class SourceKeys:
    """The public keys of every publishing source, by kid."""

    def __init__(self, keys: Mapping[str, Mapping[str, Ed25519PublicKey]]) -> None:
        self.keys = {s: dict(k) for s, k in keys.items()}
        self.owner = {kid: s for s, by_kid in self.keys.items() for kid in by_kid}
        # The same keys for libsodium: every envelope is verified, and its verify is the
        # cheaper half of the consumer's work per event.
        self.verifiers = {
            (s, kid): VerifyKey(key.public_bytes_raw())
            for s, by_kid in self.keys.items()
            for kid, key in by_kid.items()
        }

    @classmethod
    def from_settings(cls, settings: Settings) -> SourceKeys:
        """From AUDIT_SOURCE_KEYS and AUDIT_SOURCE_KEYS_FILE (both may be given)."""
        keys: dict[str, dict[str, Ed25519PublicKey]] = {}
        if settings.source_keys_file:
            try:
                document = json.loads(Path(settings.source_keys_file).read_text())
            except (OSError, ValueError) as exc:
                raise SigningKeyError(f"AUDIT_SOURCE_KEYS_FILE: {exc}") from None
            for source, by_kid in parse_source_keys_json(document).items():
                keys.setdefault(source, {}).update(by_kid)
        if settings.source_keys:
            for source, by_kid in parse_source_keys(settings.source_keys).items():
                keys.setdefault(source, {}).update(by_kid)
        missing = sorted(set(TOPIC_BY_SOURCE) - set(keys))
        if missing:
            log.warning("no public key for %s: every envelope of it will be quarantined", missing)
        return cls(keys)

    def problem(self, source: str, data: bytes, headers: Headers | None) -> tuple[str, str | None]:
        """Why data is not a genuine message of source ("" when it is), and the kid it named."""
        sig, raw_kid = header(headers, SIG_HEADER), header(headers, KID_HEADER)
        if sig is None or raw_kid is None:
            return "unsigned", None
        kid = raw_kid.decode("ascii", "replace")[:64]
        verifier = self.verifiers.get((source, kid))
        if verifier is None:
            owner = self.owner.get(kid)
            if owner is not None:
                return f"kid {kid} is a key of {owner}, not of {source}", kid
            return f"unknown kid {kid} for {source}", kid
        if not _verified(verifier, data, sig):
            return f"bad signature under kid {kid}", kid
        return "", kid

    def heartbeat_ok(self, value: bytes | None, headers: Headers | None) -> bool:
        """Whether a heartbeat is signed by a key of the source it speaks for."""
        try:
            source = str(json.loads(value or b"")["source"])
        except (ValueError, KeyError, TypeError):
            return False
        reason, _ = self.problem(source, value or b"", headers)
        if reason:
            log.warning("ignoring heartbeat claiming %s: %s", source, reason)
        return not reason


def taken(refused: Sequence[tuple[Incoming, str]]) -> list[Poison]:
    """Quarantine entries for envelopes whose (source, source_seq) the store already holds."""
    from audit.ingest.service import Message, Poison

    poison = []
    for item, reason in refused:
        message = item.message
        if not isinstance(message, Message):
            message = Message(
                item.topic or "", item.partition or 0, item.offset or 0, None, item.event.to_json()
            )
        kid = header(message.headers, KID_HEADER)
        poison.append(
            Poison(
                message,
                f"forged: {reason}",
                forged=True,
                source=item.event.source,
                kid=kid.decode("ascii", "replace") if kid else None,
            )
        )
    return poison


async def raise_forged_alerts(
    session: AsyncSession, poison: Sequence[Poison], rules: RuleSettings
) -> list[StoredEvent]:
    """One `forged_event` alert per claimed source and kid among the batch's forged messages.

    Each is an audit event `forged_event_detected` (with where the messages sit in the
    quarantine) that the fold turns into the alert, as `gap_detected` becomes a gap alert; its
    id derives from the first message, so a batch read again raises nothing twice."""
    from audit.ingest.service import append_audit

    groups: dict[tuple[str | None, str | None], list[Poison]] = {}
    for p in poison:
        if p.forged:
            groups.setdefault((p.source, p.kid), []).append(p)
    if not groups:
        return []
    drafts = []
    for (source, kid), items in groups.items():
        first = items[0].message
        reasons = sorted({p.reason for p in items})
        drafts.append(
            forged_detected(
                derived_id("forged", first.topic, first.partition, first.offset),
                source,
                {
                    "source": source,
                    "kid": kid,
                    "count": len(items),
                    "reasons": reasons[:5],
                    "quarantined": [
                        {
                            "topic": p.message.topic,
                            "partition": p.message.partition,
                            "offset": p.message.offset,
                        }
                        for p in items[:MAX_LISTED]
                    ],
                },
            )
        )
    # The fold raises the alert from this trace (projections, on rebuild too).
    return await append_audit(session, drafts, rules)
