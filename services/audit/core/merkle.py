"""The Merkle tree of the audit log (RFC 9162 §2.1): hashes, proofs, their verification, tiles.

Pure functions over hashes: the storage hands in a lookup of complete subtree hashes
(`NodeLookup`), so proofs cost one read per tile touched, never a recomputation of the tree.

A node is (level, index): the complete subtree of 2**level leaves that starts at leaf
index << level. The tree is stored as tiles of TILE_HEIGHT levels: tile (t, n) holds the
subtree whose base is the nodes (t * TILE_HEIGHT, n * TILE_WIDTH + i), i < TILE_WIDTH, with
every complete node above them up to the tile's root, in post-order (the order appending
completes them), so a tile only ever grows at its end; the last tile of each tile level is
partial. Every complete node is stored: a proof is a read of one entry per level.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

HASH_SIZE = 32
# Height 4: a tile of 16 base entries and their 15 nodes is 992 bytes, one row, and a proof in a
# tree of 10 million leaves touches 6 of them.
TILE_HEIGHT = 4
TILE_WIDTH = 1 << TILE_HEIGHT

Node = tuple[int, int]
NodeLookup = Callable[[int, int], bytes]
Tile = tuple[int, int]


def leaf_hash(leaf: bytes) -> bytes:
    """RFC 9162 leaf hash: SHA-256(0x00 || leaf)."""
    return hashlib.sha256(b"\x00" + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 9162 interior node hash: SHA-256(0x01 || left || right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


EMPTY_ROOT = hashlib.sha256(b"").digest()


def _split(n: int) -> int:
    """The largest power of two smaller than n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def range_nodes(lo: int, hi: int) -> list[Node]:
    """The complete subtrees whose hashes make up MTH(D[lo:hi]), left to right."""
    size = hi - lo
    if size <= 0:
        return []
    if size & (size - 1) == 0 and lo % size == 0:
        return [(size.bit_length() - 1, lo // size)]
    k = _split(size)
    return range_nodes(lo, lo + k) + range_nodes(lo + k, hi)


def range_hash(lo: int, hi: int, node: NodeLookup) -> bytes:
    """MTH(D[lo:hi]) from the hashes of complete subtrees."""
    size = hi - lo
    if size <= 0:
        return EMPTY_ROOT
    if size & (size - 1) == 0 and lo % size == 0:
        return node(size.bit_length() - 1, lo // size)
    k = _split(size)
    return node_hash(range_hash(lo, lo + k, node), range_hash(lo + k, hi, node))


def complete_node(lo: int, hi: int) -> Node | None:
    """The complete subtree that is exactly D[lo:hi], or None when the range is not one."""
    size = hi - lo
    if size > 0 and size & (size - 1) == 0 and lo % size == 0:
        return (size.bit_length() - 1, lo // size)
    return None


def inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """The leaf ranges whose roots form PATH(index, D[0:size]), bottom first (RFC 9162 2.1.3.1).

    Walked bottom-up: at each level the sibling of the leaf's block, cut at the tree's right
    edge, and none where that sibling would start past the edge. The same path as the RFC's
    recursion, which splits at the largest power of two from the top."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of size {size}")
    out: list[tuple[int, int]] = []
    level = 0
    while (size - 1) >> level:
        lo = ((index >> level) ^ 1) << level
        if lo < size:
            out.append((lo, min(lo + (1 << level), size)))
        level += 1
    return out


# A step of an inclusion path: (level, index) of a complete subtree, or (EDGE, lo) for the
# partial range D[lo:size] at the tree's right edge (hashed from the complete ones under it).
EDGE = -1


def inclusion_path(index: int, size: int) -> list[Node]:
    """inclusion_ranges() as what to look up: the node of each complete range, (EDGE, lo) for
    the one range (at most) cut by the right edge.

    A page of receipts shares most of its lookups, and most of them are complete nodes: this
    walk makes them dictionary keys without building and classifying ranges."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of size {size}")
    out: list[Node] = []
    level = 0
    while (size - 1) >> level:
        sibling = (index >> level) ^ 1
        lo = sibling << level
        if lo + (1 << level) <= size:
            out.append((level, sibling))
        elif lo < size:
            out.append((EDGE, lo))
        level += 1
    return out


def consistency_ranges(first: int, second: int) -> list[tuple[int, int]]:
    """The leaf ranges whose roots form PROOF(first, D[0:second]) (RFC 9162 2.1.4.1)."""
    if not 0 < first <= second:
        raise ValueError(f"no consistency proof from size {first} to size {second}")
    out: list[tuple[int, int]] = []

    def sub(m: int, lo: int, hi: int, complete: bool) -> None:
        n = hi - lo
        if m == n:
            if not complete:
                out.append((lo, hi))
            return
        k = _split(n)
        if m <= k:
            sub(m, lo, lo + k, complete)
            out.append((lo + k, hi))
        else:
            sub(m - k, lo + k, hi, False)
            out.append((lo, lo + k))

    sub(first, 0, second, True)
    return out


def proof_nodes(ranges: Iterable[tuple[int, int]]) -> set[Node]:
    """Every complete subtree a list of ranges needs."""
    return {n for lo, hi in ranges for n in range_nodes(lo, hi)}


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """RFC 9162 2.1.3.2: whether leaf hash `leaf` is at `index` of the tree with `root`."""
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]
) -> bool:
    """RFC 9162 2.1.4.2: whether the tree of size `second` extends the one of size `first`."""
    if not 0 < first <= second:
        return False
    if first == second:
        return not proof and first_root == second_root
    path = list(proof)
    if first & (first - 1) == 0:
        path.insert(0, first_root)
    if not path:
        return False
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == first_root and sr == second_root


def entries_for(leaves: int) -> int:
    """Stored hashes of a tile holding `leaves` entries of its base level, nodes included."""
    return 2 * leaves - leaves.bit_count()


def leaves_in(size_bytes: int) -> int:
    """How many base-level entries a tile of `size_bytes` holds; ValueError when none fits."""
    entries, rest = divmod(size_bytes, HASH_SIZE)
    for leaves in range(TILE_WIDTH + 1):
        if entries_for(leaves) == entries and not rest:
            return leaves
    raise ValueError(f"{size_bytes} bytes is not the size of a tile")


def _post(j: int, k: int) -> int:
    """Where node (j, k) of a tile's subtree lies in its post-order (the order of appending)."""
    last = ((k + 1) << j) - 1
    return 2 * last - last.bit_count() + j


def tile_of(level: int, index: int) -> tuple[Tile, int]:
    """The tile that stores a node, and the node's entry in it."""
    t, j = divmod(level, TILE_HEIGHT)
    base = index << j
    return (t, base // TILE_WIDTH), _post(j, (base % TILE_WIDTH) >> j)


def tiles_for(nodes: Iterable[Node]) -> set[Tile]:
    """The tiles to read for a set of nodes."""
    return {tile_of(level, index)[0] for level, index in nodes}


def node_from_tiles(level: int, index: int, tiles: Mapping[Tile, bytes]) -> bytes:
    """The stored hash of a complete node."""
    tile, entry = tile_of(level, index)
    data = tiles.get(tile, b"")
    start = entry * HASH_SIZE
    if len(data) < start + HASH_SIZE:
        raise KeyError(f"node ({level}, {index}) is not in the stored tree")
    return data[start : start + HASH_SIZE]


def _entry(data: bytes | bytearray, entry: int) -> bytes:
    return bytes(data[entry * HASH_SIZE : (entry + 1) * HASH_SIZE])


def grow_tile(data: bytes | bytearray, h: bytes) -> bytes:
    """A tile with one more base-level entry and the nodes it completes."""
    leaves = leaves_in(len(data))
    if leaves == TILE_WIDTH:
        raise ValueError("the tile is full")
    out = bytearray(data) + h
    j, k, cur = 0, leaves, h
    while k & 1:
        cur = node_hash(_entry(out, _post(j, k - 1)), cur)
        j, k = j + 1, k >> 1
        out += cur
    return bytes(out)


def tile_leaves(data: bytes) -> list[bytes]:
    """The base-level entries of a tile."""
    return [_entry(data, _post(0, i)) for i in range(leaves_in(len(data)))]


def build_tile(leaves: Iterable[bytes]) -> bytes:
    """The tile of these base-level entries, nodes included."""
    data = b""
    for h in leaves:
        data = grow_tile(data, h)
    return data


def tile_root(data: bytes) -> bytes:
    """The hash of a full tile's subtree (the entry one tile level up)."""
    if leaves_in(len(data)) != TILE_WIDTH:
        raise ValueError("only a full tile has a root in the level above")
    return data[-HASH_SIZE:]


def edge_tiles(size: int) -> list[Tile]:
    """The partial (rightmost) tile of each tile level of a tree of `size` leaves."""
    out: list[Tile] = []
    t = 0
    while (count := size >> (t * TILE_HEIGHT)) > 0:
        if count % TILE_WIDTH:
            out.append((t, count // TILE_WIDTH))
        t += 1
    return out


@dataclass
class TreeAppender:
    """Appends leaf hashes to a stored tree: the tiles to write and the new root."""

    size: int
    edges: dict[int, bytes] = field(default_factory=dict)
    changed: dict[Tile, bytes] = field(default_factory=dict)

    @classmethod
    def at(cls, size: int, tiles: Mapping[Tile, bytes]) -> TreeAppender:
        """An appender for a tree of `size` leaves, given its partial tiles (edge_tiles)."""
        edges = {t: tiles.get((t, n), b"") for t, n in edge_tiles(size)}
        for t, data in edges.items():
            expected = entries_for((size >> (t * TILE_HEIGHT)) % TILE_WIDTH) * HASH_SIZE
            if len(data) != expected:
                raise ValueError(f"tile level {t} holds {len(data)} bytes, expected {expected}")
        return cls(size, edges)

    def append(self, hashes: Iterable[bytes]) -> None:
        """Add leaf hashes in leaf order."""
        for h in hashes:
            self._push(0, self.size, h)
            self.size += 1

    def _push(self, t: int, leaf_index: int, h: bytes) -> None:
        index = leaf_index >> (t * TILE_HEIGHT)
        tile = (t, index // TILE_WIDTH)
        data = grow_tile(self.edges.get(t, b""), h)
        self.changed[tile] = data
        if index % TILE_WIDTH == TILE_WIDTH - 1:
            self.edges.pop(t, None)
            self._push(t + 1, leaf_index, tile_root(data))
        else:
            self.edges[t] = data

    def root(self) -> bytes:
        """The root of the tree as appended so far (needs only the partial tiles)."""
        edge = {
            (t, (self.size >> (t * TILE_HEIGHT)) // TILE_WIDTH): d for t, d in self.edges.items()
        }
        return range_hash(0, self.size, lambda level, index: node_from_tiles(level, index, edge))


class CompactRange:
    """The root of a growing tree with O(log n) memory: the way a verifier rebuilds it."""

    def __init__(self) -> None:
        self.size = 0
        self.stack: list[tuple[int, bytes]] = []

    def append(self, h: bytes) -> None:
        """Add one leaf hash."""
        level = 0
        while self.stack and self.stack[-1][0] == level:
            _, left = self.stack.pop()
            h = node_hash(left, h)
            level += 1
        self.stack.append((level, h))
        self.size += 1

    def root(self) -> bytes:
        """MTH of the leaves so far."""
        if not self.stack:
            return EMPTY_ROOT
        h = self.stack[-1][1]
        for _, left in reversed(self.stack[:-1]):
            h = node_hash(left, h)
        return h
