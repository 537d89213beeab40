"""API forms of the Merkle log: its key, consistency proofs, receipts."""

from __future__ import annotations

from pydantic import BaseModel, Field


class LogKeyRead(BaseModel):
    """The key that verifies the log's checkpoints."""

    name: str = Field(description="the key name, the log's origin line")
    public_key: str = Field(description="base64 of the 32-byte Ed25519 public key")
    verifier_key: str = Field(description="the C2SP signed-note verifier key string")


class ConsistencyRead(BaseModel):
    """RFC 9162 consistency proof from tree size `first` to tree size `second`."""

    first: int
    second: int
    proof: list[str] = Field(description="base64 hashes")


class InclusionRead(BaseModel):
    """RFC 9162 inclusion proof of one leaf in the tree of `tree_size` leaves."""

    leaf_index: int
    tree_size: int
    proof: list[str] = Field(description="base64 hashes")


class ReceiptRead(BaseModel):
    """One log entry with its inclusion proof and the signed checkpoint it is proved against."""

    log: str = Field(description="the log's origin")
    leaf_index: int
    leaf: str = Field(description="base64 of the leaf's bytes: the stored envelope")
    tree_size: int
    inclusion_proof: list[str] = Field(description="base64 hashes, RFC 9162 2.1.3")
    checkpoint: str = Field(description="the C2SP signed note of the tree of tree_size leaves")
