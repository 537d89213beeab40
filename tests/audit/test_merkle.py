"""The Merkle log's pure core against a naive RFC 9162 tree, signed notes and receipts."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from audit.core.merkle import (
    EDGE,
    TILE_WIDTH,
    CompactRange,
    TreeAppender,
    complete_node,
    consistency_ranges,
    inclusion_path,
    inclusion_ranges,
    leaf_hash,
    node_from_tiles,
    node_hash,
    range_hash,
    verify_consistency,
    verify_inclusion,
)
from audit.core.note import (
    CheckpointBody,
    NoteError,
    Verifier,
    parse_verifier,
    raw_public_key,
    sign_note,
    verified_checkpoint,
)
from audit.core.receipt import Receipt, check_receipt


def mth(leaves: list[bytes]) -> bytes:
    """RFC 9162 2.1.1, written as the RFC reads."""
    n = len(leaves)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return leaf_hash(leaves[0])
    k = 1 << ((n - 1).bit_length() - 1)
    return node_hash(mth(leaves[:k]), mth(leaves[k:]))


def naive_path(m: int, leaves: list[bytes]) -> list[bytes]:
    """RFC 9162 2.1.3.1 PATH(m, D[n])."""
    n = len(leaves)
    if n == 1:
        return []
    k = 1 << ((n - 1).bit_length() - 1)
    if m < k:
        return [*naive_path(m, leaves[:k]), mth(leaves[k:])]
    return [*naive_path(m - k, leaves[k:]), mth(leaves[:k])]


def rfc_path_ranges(m: int, lo: int, hi: int) -> list[tuple[int, int]]:
    """The ranges of PATH(m, D[lo:hi]), split from the top as RFC 9162 2.1.3.1 reads."""
    if hi - lo == 1:
        return []
    k = 1 << ((hi - lo - 1).bit_length() - 1)
    if m < lo + k:
        return [*rfc_path_ranges(m, lo, lo + k), (lo + k, hi)]
    return [*rfc_path_ranges(m, lo + k, hi), (lo, lo + k)]


def naive_subproof(m: int, leaves: list[bytes], b: bool) -> list[bytes]:
    """RFC 9162 2.1.4.1 SUBPROOF."""
    n = len(leaves)
    if m == n:
        return [] if b else [mth(leaves)]
    k = 1 << ((n - 1).bit_length() - 1)
    if m <= k:
        return [*naive_subproof(m, leaves[:k], b), mth(leaves[k:])]
    return [*naive_subproof(m - k, leaves[k:], False), mth(leaves[:k])]


def leaves_of(n: int) -> list[bytes]:
    """Distinct leaves."""
    return [json.dumps({"event_id": str(i)}).encode() for i in range(n)]


class Tree:
    """A tree built through the tile appender, with a node lookup over its tiles."""

    def __init__(self, leaves: list[bytes], chunks: int = 1) -> None:
        self.tiles: dict[tuple[int, int], bytes] = {}
        size = 0
        step = max(1, len(leaves) // chunks)
        for start in range(0, len(leaves), step):
            appender = TreeAppender.at(size, self.tiles)
            appender.append(leaf_hash(x) for x in leaves[start : start + step])
            self.tiles.update(appender.changed)
            size = appender.size
            self.root = appender.root()
        self.size = size

    def node(self, level: int, index: int) -> bytes:
        """A complete subtree's hash from the tiles."""
        return node_from_tiles(level, index, self.tiles)

    def proof(self, ranges: list[tuple[int, int]]) -> list[bytes]:
        """The hashes of proof ranges."""
        return [range_hash(lo, hi, self.node) for lo, hi in ranges]


SIZES = st.integers(min_value=1, max_value=3 * TILE_WIDTH * TILE_WIDTH + 7)


class TestTreeHash:
    @given(n=SIZES, chunks=st.integers(min_value=1, max_value=5))
    @settings(max_examples=40, deadline=None)
    def test_tiles_give_the_rfc_root_however_the_leaves_arrive(self, n: int, chunks: int) -> None:
        leaves = leaves_of(n)
        tree = Tree(leaves, chunks)
        assert tree.size == n
        assert tree.root == mth(leaves)
        assert range_hash(0, n, tree.node) == mth(leaves)
        compact = CompactRange()
        for x in leaves:
            compact.append(leaf_hash(x))
        assert compact.root() == mth(leaves)

    def test_the_known_answer_of_rfc_6962_test_vectors(self) -> None:
        # The root of the empty tree and of the one-leaf tree of the empty string (Go's tlog tests).
        assert mth([]).hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        assert mth([b""]).hex() == (
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
        )


class TestInclusion:
    @given(data=st.data(), n=SIZES)
    @settings(max_examples=60, deadline=None)
    def test_the_proof_is_the_rfc_path_and_verifies(self, data: st.DataObject, n: int) -> None:
        leaves = leaves_of(n)
        tree = Tree(leaves)
        m = data.draw(st.integers(min_value=0, max_value=n - 1))
        proof = tree.proof(inclusion_ranges(m, n))
        assert proof == naive_path(m, leaves)
        assert verify_inclusion(leaf_hash(leaves[m]), m, n, proof, tree.root)

    @given(data=st.data(), n=st.integers(min_value=2, max_value=300))
    @settings(max_examples=60, deadline=None)
    def test_a_wrong_leaf_index_or_proof_fails(self, data: st.DataObject, n: int) -> None:
        leaves = leaves_of(n)
        tree = Tree(leaves)
        m = data.draw(st.integers(min_value=0, max_value=n - 1))
        proof = tree.proof(inclusion_ranges(m, n))
        other = data.draw(st.integers(min_value=0, max_value=n - 1).filter(lambda x: x != m))
        assert not verify_inclusion(leaf_hash(leaves[other]), m, n, proof, tree.root)
        assert not verify_inclusion(leaf_hash(leaves[m]), other, n, proof, tree.root)
        if proof:
            broken = [*proof]
            broken[0] = bytes(32)
            assert not verify_inclusion(leaf_hash(leaves[m]), m, n, broken, tree.root)
            assert not verify_inclusion(leaf_hash(leaves[m]), m, n, proof[:-1], tree.root)
        assert not verify_inclusion(leaf_hash(leaves[m]), m, n, [*proof, bytes(32)], tree.root)

    @given(data=st.data(), n=st.integers(min_value=1, max_value=2**48))
    @settings(max_examples=300, deadline=None)
    def test_the_bottom_up_walk_is_the_rfc_split_at_any_size(
        self, data: st.DataObject, n: int
    ) -> None:
        m = data.draw(st.one_of(st.integers(0, n - 1), st.sampled_from([0, n - 1])))
        assert inclusion_ranges(m, n) == rfc_path_ranges(m, 0, n)
        as_ranges = [
            (lo, n) if level == EDGE else (lo << level, (lo + 1) << level)
            for level, lo in inclusion_path(m, n)
        ]
        assert as_ranges == inclusion_ranges(m, n)
        assert sum(1 for level, _ in inclusion_path(m, n) if level == EDGE) <= 1

    @given(lo=st.integers(0, 2**20), size=st.integers(1, 2**12))
    def test_a_complete_node_is_an_aligned_power_of_two(self, lo: int, size: int) -> None:
        node = complete_node(lo, lo + size)
        if node is None:
            assert size & (size - 1) or lo % size
        else:
            level, index = node
            assert (index << level, (index + 1) << level) == (lo, lo + size)

    def test_a_leaf_outside_the_tree_has_no_proof(self) -> None:
        with pytest.raises(ValueError):
            inclusion_ranges(5, 5)
        assert not verify_inclusion(bytes(32), 5, 5, [], bytes(32))


class TestConsistency:
    @given(data=st.data(), n=SIZES)
    @settings(max_examples=60, deadline=None)
    def test_the_proof_is_the_rfc_subproof_and_verifies(self, data: st.DataObject, n: int) -> None:
        leaves = leaves_of(n)
        tree = Tree(leaves)
        m = data.draw(st.integers(min_value=1, max_value=n))
        proof = tree.proof(consistency_ranges(m, n))
        assert proof == (naive_subproof(m, leaves, True) if m < n else [])
        assert verify_consistency(m, n, mth(leaves[:m]), tree.root, proof)

    @given(data=st.data(), n=st.integers(min_value=2, max_value=300))
    @settings(max_examples=60, deadline=None)
    def test_a_rewritten_old_leaf_breaks_consistency(self, data: st.DataObject, n: int) -> None:
        leaves = leaves_of(n)
        m = data.draw(st.integers(min_value=1, max_value=n - 1))
        changed = data.draw(st.integers(min_value=0, max_value=m - 1))
        forged = [*leaves]
        forged[changed] = b'{"event_id":"forged"}'
        tree = Tree(forged)
        proof = tree.proof(consistency_ranges(m, n))
        assert not verify_consistency(m, n, mth(leaves[:m]), tree.root, proof)


def signer() -> tuple[Ed25519PrivateKey, Verifier]:
    """A fresh key and its verifier."""
    private = Ed25519PrivateKey.generate()
    return private, Verifier("ohs.test/audit", raw_public_key(private))


class TestSignedNote:
    def test_a_checkpoint_round_trips_through_its_verifier_string(self) -> None:
        private, verifier = signer()
        body = CheckpointBody("ohs.test/audit", 7, bytes(range(32)))
        note = sign_note(body.text(), verifier.name, private)
        assert note.startswith("ohs.test/audit\n7\n")
        assert "\n\n\u2014 ohs.test/audit " in note
        assert verified_checkpoint(note, parse_verifier(verifier.string())) == body

    def test_another_key_or_an_edited_note_is_refused(self) -> None:
        private, verifier = signer()
        _, stranger = signer()
        note = sign_note(
            CheckpointBody("ohs.test/audit", 7, bytes(32)).text(), verifier.name, private
        )
        with pytest.raises(NoteError):
            verified_checkpoint(note, stranger)
        with pytest.raises(NoteError):
            verified_checkpoint(note.replace("\n7\n", "\n8\n"), verifier)

    @pytest.mark.parametrize(
        "value",
        ["", "name", "a+b+c", "n+00000000+AAAA", "x y+00+AQ=="],
    )
    def test_a_malformed_verifier_key_is_refused(self, value: str) -> None:
        with pytest.raises(NoteError):
            parse_verifier(value)


class TestReceipt:
    def receipt(self, n: int = 40, m: int = 17) -> tuple[Receipt, Verifier]:
        private, verifier = signer()
        leaves = leaves_of(n)
        tree = Tree(leaves)
        note = sign_note(CheckpointBody(verifier.name, n, tree.root).text(), verifier.name, private)
        proof = tuple(tree.proof(inclusion_ranges(m, n)))
        return Receipt(verifier.name, m, leaves[m], n, proof, note), verifier

    def test_a_receipt_checks_out_after_a_json_round_trip(self) -> None:
        receipt, verifier = self.receipt()
        again = Receipt.from_json(json.loads(json.dumps(receipt.as_json())))
        result = check_receipt(again, verifier)
        assert result.ok and result.event_id == "17"

    def test_a_rewritten_leaf_fails(self) -> None:
        receipt, verifier = self.receipt()
        data = receipt.as_json()
        data["leaf"] = base64.b64encode(b'{"event_id":"17","action":"none"}').decode()
        result = check_receipt(Receipt.from_json(data), verifier)
        assert not result.ok and "inclusion" in (result.problem or "")

    def test_a_receipt_without_fields_is_refused(self) -> None:
        with pytest.raises(NoteError):
            Receipt.from_json({"log": "x"})
