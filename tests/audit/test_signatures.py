"""Signing and verifying envelopes, reading keys and key configuration (no stack needed)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit.ingest.service import Message, Poison, parse
from audit.ingest.signatures import SourceKeys, parse_source_keys, parse_source_keys_json
from audit.settings import Settings
from audit.store.service import Incoming, checkpoint_private_key, configured_public_keys
from common.outbox import signer_from_settings
from common.signing import (
    EventSigner,
    SigningKeyError,
    kid_of,
    load_private_key,
    load_public_key,
    public_b64,
    verify,
    write_private_key,
)
from records.settings import Settings as RecordsSettings


def signer() -> EventSigner:
    return EventSigner(Ed25519PrivateKey.generate())


def pem_of(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def seed_b64(key: Ed25519PrivateKey) -> str:
    raw = key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    return base64.b64encode(raw).decode()


ENVELOPE = {
    "event_id": "6d1f9a3e-3b8e-4d8a-9a7e-3c1b2a4d5e6f",
    "schema": "access-event/1",
    "occurred_at": "2026-11-25T10:00:00.000000Z",
    "source": "records",
    "source_seq": 7,
    "actor": None,
    "action": "read",
    "outcome": "success",
    "worker_id": "w-1",
    "resource": None,
    "purpose": None,
    "client": {"ip": None, "user_agent": None},
    "trace_id": None,
}


class TestSignVerify:
    def test_round_trip_and_tampering(self):
        s = signer()
        data = json.dumps(ENVELOPE).encode()
        (sig_name, sig), (kid_name, kid) = s.headers(data)
        assert (sig_name, kid_name) == ("sig", "kid")
        assert kid.decode() == s.kid == kid_of(s.public) and len(s.kid) == 16
        assert verify(s.public, data, sig)
        assert not verify(s.public, data.replace(b'"source_seq": 7', b'"source_seq": 8'), sig)
        assert not verify(signer().public, data, sig)
        assert not verify(s.public, data, b"not base64!")

    def test_private_key_as_pem_or_base64_seed(self, tmp_path: Path):
        key = Ed25519PrivateKey.generate()
        expected = kid_of(key.public_key())
        assert kid_of(load_private_key(pem_of(key)).public_key()) == expected
        assert kid_of(load_private_key(seed_b64(key)).public_key()) == expected
        for bad in ("", "not a key", base64.b64encode(b"short").decode(), "-----BEGIN x"):
            with pytest.raises(SigningKeyError):
                load_private_key(bad)
        path = tmp_path / "k" / "event.pem"
        written = write_private_key(path)
        assert path.stat().st_mode & 0o777 == 0o600
        assert kid_of(load_private_key(path.read_bytes()).public_key()) == kid_of(
            written.public_key()
        )

    def test_public_key_as_base64_or_pem(self):
        key = Ed25519PrivateKey.generate().public_key()
        pem = key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode()
        assert kid_of(load_public_key(public_b64(key))) == kid_of(load_public_key(pem))
        with pytest.raises(SigningKeyError):
            load_public_key("AAAA")


class TestSourceKeyConfiguration:
    def test_string_form_with_and_without_kid_several_per_source(self):
        a, b, c = signer(), signer(), signer()
        text = (
            f"records:{a.kid}={public_b64(a.public)}, records:{public_b64(b.public)}\n"
            f"identity:{c.kid}={public_b64(c.public)}"
        )
        keys = parse_source_keys(text)
        assert set(keys["records"]) == {a.kid, b.kid} and set(keys["identity"]) == {c.kid}

    @pytest.mark.parametrize(
        "text",
        [
            "records",
            "audit:{pub}",
            "nobody:{pub}",
            "records:0123456789abcdef={pub}",
            "records:{kid}=AAAA",
        ],
    )
    def test_string_form_refusals(self, text: str):
        s = signer()
        with pytest.raises(SigningKeyError):
            parse_source_keys(text.format(pub=public_b64(s.public), kid=s.kid))

    def test_json_forms(self):
        a, b, c = signer(), signer(), signer()
        keys = parse_source_keys_json(
            {
                "records": {a.kid: public_b64(a.public)},
                "register": [public_b64(b.public)],
                "identity": public_b64(c.public),
            }
        )
        assert {s: set(k) for s, k in keys.items()} == {
            "records": {a.kid},
            "register": {b.kid},
            "identity": {c.kid},
        }
        with pytest.raises(SigningKeyError):
            parse_source_keys_json(["nope"])
        with pytest.raises(SigningKeyError):
            parse_source_keys_json({"records": {"0000000000000000": public_b64(a.public)}})

    def test_settings_file_and_value_are_merged(self, tmp_path: Path):
        a, b = signer(), signer()
        path = tmp_path / "keys.json"
        path.write_text(json.dumps({"records": [public_b64(a.public)]}))
        keys = SourceKeys.from_settings(
            Settings(source_keys_file=str(path), source_keys=f"records:{public_b64(b.public)}")
        )
        assert set(keys.keys["records"]) == {a.kid, b.kid}


class TestParse:
    def message(self, value: bytes, headers: list[tuple[str, bytes]]) -> Message:
        return Message("access-events", 0, 1, None, value, tuple(headers))

    def test_verdicts(self):
        records, identity, stranger = signer(), signer(), signer()
        keys = SourceKeys(
            {"records": {records.kid: records.public}, "identity": {identity.kid: identity.public}}
        )
        value = json.dumps(ENVELOPE).encode()
        assert isinstance(parse(self.message(value, records.headers(value)), keys), Incoming)
        verdicts = {
            "unsigned": [],
            "unknown kid": stranger.headers(value),
            "is a key of identity": identity.headers(value),
            "bad signature": records.headers(value + b"\n"),
        }
        for reason, headers in verdicts.items():
            got = parse(self.message(value, headers), keys)
            assert isinstance(got, Poison) and got.forged and reason in got.reason, got
            assert got.source == "records"
        # Not an envelope at all: poison, but no forgery of anyone.
        junk = parse(self.message(b"{not json", records.headers(b"{not json")), keys)
        assert isinstance(junk, Poison) and not junk.forged

    def test_heartbeats(self):
        records = signer()
        keys = SourceKeys({"records": {records.kid: records.public}})
        beat = json.dumps({"source": "records", "last_seq": 9}).encode()
        assert keys.heartbeat_ok(beat, records.headers(beat))
        assert not keys.heartbeat_ok(beat, [])
        assert not keys.heartbeat_ok(beat, signer().headers(beat))
        assert not keys.heartbeat_ok(b"junk", records.headers(b"junk"))


class TestSecretsAreRequired:
    def test_relay_refuses_to_start_without_its_key(self, tmp_path: Path):
        with pytest.raises(SigningKeyError, match="OHS_EVENT_SIGNING_KEY_FILE"):
            signer_from_settings(RecordsSettings())
        key = Ed25519PrivateKey.generate()
        path = tmp_path / "relay.pem"
        path.write_bytes(pem_of(key))
        from_file = signer_from_settings(RecordsSettings(event_signing_key_file=str(path)))
        from_value = signer_from_settings(RecordsSettings(event_signing_key=seed_b64(key)))
        assert from_file.kid == from_value.kid == kid_of(key.public_key())
        with pytest.raises(SigningKeyError, match="cannot read"):
            signer_from_settings(RecordsSettings(event_signing_key_file=str(tmp_path / "none")))

    def test_consumer_refuses_to_start_without_the_checkpoint_key(self, tmp_path: Path):
        with pytest.raises(SigningKeyError, match="AUDIT_CHECKPOINT_KEY_FILE"):
            checkpoint_private_key(Settings())
        key = Ed25519PrivateKey.generate()
        assert kid_of(checkpoint_private_key(Settings(checkpoint_key=seed_b64(key))).public_key())

    def test_production_audit_refuses_to_start_without_source_keys(self, monkeypatch):
        monkeypatch.setenv("OHS_ENVIRONMENT", "production")
        monkeypatch.setenv("OHS_CONTEST_SECRET", "a-real-secret-for-this-test")
        with pytest.raises(ValueError, match="AUDIT_SOURCE_KEYS"):
            Settings()

    def test_retired_checkpoint_keys_from_configuration(self):
        a, b = Ed25519PrivateKey.generate().public_key(), Ed25519PrivateKey.generate().public_key()
        keys = configured_public_keys(f"{public_b64(a)},{public_b64(b)}")
        assert len(keys) == 2 and all("PUBLIC KEY" in pem for pem in keys.values())
        assert configured_public_keys(None) == {}
