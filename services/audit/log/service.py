"""The Merkle tree log in PostgreSQL: integrating stored events, signing checkpoints, proofs."""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from audit.core.merkle import (
    EDGE,
    HASH_SIZE,
    TILE_HEIGHT,
    TILE_WIDTH,
    CompactRange,
    Node,
    Tile,
    TreeAppender,
    build_tile,
    consistency_ranges,
    edge_tiles,
    inclusion_path,
    inclusion_ranges,
    leaf_hash,
    leaves_in,
    node_from_tiles,
    proof_nodes,
    range_hash,
    range_nodes,
    tile_leaves,
    tile_of,
    tile_root,
    tiles_for,
)
from audit.core.note import (
    CheckpointBody,
    NoteError,
    Verifier,
    open_note,
    parse_checkpoint,
    sign_note,
    split_note,
)
from audit.core.receipt import Receipt
from audit.log.models import LogCheckpoint
from audit.store.models import SigningKey
from audit.store.service import CHAIN_LOCK, IntegrityReport, Signer, public_keys, verify
from audit.tables import driver
from common.db import utcnow
from common.signing import SigningKeyError, load_public_key, raw_public

LOG_LOCK = zlib.crc32(b"audit-log-sequencer")


async def tree_size(session: AsyncSession) -> int:
    """The number of leaves in the stored tree (the entries of its level-0 tiles)."""
    row = (
        await session.execute(
            text(
                "SELECT idx, length(hashes) FROM log_tile WHERE level = 0 ORDER BY idx DESC LIMIT 1"
            )
        )
    ).first()
    return 0 if row is None else int(row[0]) * TILE_WIDTH + leaves_in(int(row[1]))


TILES_SQL = (
    "SELECT t.level, t.idx, t.hashes FROM log_tile t "
    "JOIN unnest($1::smallint[], $2::bigint[]) AS w(level, idx) "
    "ON t.level = w.level AND t.idx = w.idx"
)


async def read_tiles(session: AsyncSession, wanted: Iterable[Tile]) -> dict[Tile, bytes]:
    """The stored tiles among `wanted`, in one query."""
    tiles = sorted(set(wanted))
    if not tiles:
        return {}
    rows = await (await driver(session)).fetch(
        TILES_SQL, [t for t, _ in tiles], [n for _, n in tiles]
    )
    return {(r[0], r[1]): bytes(r[2]) for r in rows}


async def latest_checkpoint(session: AsyncSession) -> LogCheckpoint | None:
    """The newest signed checkpoint."""
    result = await session.execute(
        select(LogCheckpoint).order_by(col(LogCheckpoint.tree_size).desc()).limit(1)
    )
    return result.scalars().first()


@dataclass(frozen=True)
class Integration:
    """What one sequencer round did."""

    leaves: int
    tree_size: int
    checkpoint: LogCheckpoint | None


async def integrate(
    session: AsyncSession, signer: Signer, origin: str, batch: int = 20_000
) -> Integration:
    """Add the stored events the tree lacks (in position order) and sign the new tree.

    One sequencer at a time (a transaction lock): the consumers only append events; this
    hashes them into the tiles and signs, in the same transaction. It shares the chain lock
    with other readers, so it never logs a store that someone holds for rewriting."""
    await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": LOG_LOCK})
    await session.execute(text("SELECT pg_advisory_xact_lock_shared(:k)"), {"k": CHAIN_LOCK})
    size = await tree_size(session)
    rows = (
        await session.execute(
            text(
                "SELECT position, body FROM event WHERE position > :size ORDER BY position LIMIT :n"
            ),
            {"size": size, "n": batch},
        )
    ).all()
    bodies: list[str] = []
    for position, body in rows:
        # Positions are dense in commit order; a hole means a writer has not committed yet.
        if position != size + len(bodies) + 1:
            break
        bodies.append(body)
    last = await latest_checkpoint(session)
    if not bodies and (size == 0 or (last is not None and last.tree_size == size)):
        return Integration(0, size, None)
    appender = TreeAppender.at(size, await read_tiles(session, edge_tiles(size)))
    appender.append(leaf_hash(b.encode()) for b in bodies)
    if appender.changed:
        await session.execute(
            text(
                "INSERT INTO log_tile (level, idx, hashes) VALUES (:level, :idx, :hashes) "
                "ON CONFLICT (level, idx) DO UPDATE SET hashes = EXCLUDED.hashes"
            ),
            [{"level": t, "idx": n, "hashes": h} for (t, n), h in appender.changed.items()],
        )
    root = appender.root()
    body = CheckpointBody(origin, appender.size, root)
    checkpoint = LogCheckpoint(
        tree_size=appender.size,
        root_hash=root,
        note=sign_note(body.text(), origin, signer.private),
        key_id=signer.key_id,
        signed_at=utcnow(),
    )
    session.add(checkpoint)
    await session.flush()
    return Integration(len(bodies), appender.size, checkpoint)


class NodeCache:
    """Hashes of complete subtrees, which never change once the tree holds them, and of the
    right-edge ranges of signed sizes, which never change either (the size is in the key).

    Bounded: when full it starts again empty (a page of receipts refills what it needs)."""

    def __init__(self, capacity: int = 500_000) -> None:
        self.capacity = capacity
        self.hashes: dict[Node, bytes] = {}
        self.edges: dict[tuple[int, int], bytes] = {}

    def get(self, node: Node) -> bytes | None:
        """A known hash, or None."""
        return self.hashes.get(node)

    def put(self, node: Node, digest: bytes) -> None:
        """Remember one hash."""
        if len(self.hashes) >= self.capacity:
            self.hashes.clear()
        self.hashes[node] = digest

    def edge(self, lo: int, size: int) -> bytes | None:
        """MTH(D[lo:size]) when known, or None."""
        return self.edges.get((lo, size))

    def put_edge(self, lo: int, size: int, digest: bytes) -> None:
        """Remember the hash of a right-edge range (a few per signed size)."""
        if len(self.edges) >= 10_000:
            self.edges.clear()
        self.edges[(lo, size)] = digest


class TreeReader:
    """Proofs against one tree size, from the stored tiles (read once per call)."""

    def __init__(self, size: int, tiles: dict[Tile, bytes], cache: NodeCache | None = None) -> None:
        self.size = size
        self.tiles = tiles
        # Proofs of one page share their upper nodes: each is hashed up once.
        self.cache = cache if cache is not None else NodeCache()

    @classmethod
    async def for_ranges(
        cls,
        session: AsyncSession,
        size: int,
        ranges: Iterable[tuple[int, int]],
        cache: NodeCache | None = None,
    ) -> TreeReader:
        """A reader holding every tile the ranges need that the cache does not answer."""
        return await cls.for_nodes(session, size, proof_nodes(ranges), cache)

    @classmethod
    async def for_nodes(
        cls,
        session: AsyncSession,
        size: int,
        nodes: Iterable[Node],
        cache: NodeCache | None = None,
    ) -> TreeReader:
        """A reader holding every tile the complete nodes need that the cache does not answer."""
        cache = cache if cache is not None else NodeCache()
        missing = {n for n in nodes if cache.get(n) is None}
        return cls(size, await read_tiles(session, tiles_for(missing)), cache)

    def node(self, level: int, index: int) -> bytes:
        """A complete subtree's hash."""
        found = self.cache.get((level, index))
        if found is None:
            found = node_from_tiles(level, index, self.tiles)
            self.cache.put((level, index), found)
        return found

    def hashes(self, ranges: Iterable[tuple[int, int]]) -> list[bytes]:
        """The root hash of each range."""
        return [range_hash(lo, hi, self.node) for lo, hi in ranges]


async def consistency_proof(session: AsyncSession, first: int, second: int) -> list[bytes]:
    """RFC 9162 consistency proof between two sizes of the stored tree."""
    ranges = consistency_ranges(first, second)
    reader = await TreeReader.for_ranges(session, second, ranges)
    return reader.hashes(ranges)


async def inclusion_proof(session: AsyncSession, index: int, size: int) -> list[bytes]:
    """RFC 9162 inclusion proof of one leaf in the tree of `size` leaves."""
    ranges = inclusion_ranges(index, size)
    reader = await TreeReader.for_ranges(session, size, ranges)
    return reader.hashes(ranges)


# The newest checkpoint and the envelopes it covers, in one round trip: a page of history
# makes one such query and one for the tiles.
COVERED_SQL = (
    "WITH newest AS (SELECT tree_size, note FROM log_checkpoint ORDER BY tree_size DESC LIMIT 1) "
    "SELECT newest.tree_size, newest.note, e.position, e.body FROM newest "
    "LEFT JOIN event e ON e.position = ANY($1::bigint[]) AND e.position <= newest.tree_size"
)


async def receipts(
    session: AsyncSession, positions: Sequence[int], cache: NodeCache | None = None
) -> dict[int, Receipt]:
    """Receipts of the store positions already in the newest signed tree (others are pending)."""
    wanted = sorted({p for p in positions if p > 0})
    if not wanted:
        return {}
    found = await (await driver(session)).fetch(COVERED_SQL, wanted)
    if not found:
        return {}
    size, note = int(found[0][0]), str(found[0][1])
    bodies: dict[int, str] = {int(r[2]): str(r[3]) for r in found if r[2] is not None}
    if not bodies:
        return {}
    origin = parse_checkpoint(split_note(note)[0]).origin
    paths = {p: inclusion_path(p - 1, size) for p in bodies}
    # Leaves of one page share their upper siblings and the tree's right edge: each distinct
    # step is looked up (or, at the edge, hashed) once.
    hashed = await _path_hashes(session, size, {k for path in paths.values() for k in path}, cache)
    return {
        p: Receipt(
            log=origin,
            leaf_index=p - 1,
            leaf=body.encode(),
            tree_size=size,
            inclusion_proof=tuple(hashed[k] for k in paths[p]),
            checkpoint=note,
        )
        for p, body in bodies.items()
    }


async def _path_hashes(
    session: AsyncSession, size: int, steps: set[Node], cache: NodeCache | None
) -> dict[Node, bytes]:
    """The hash of each step of inclusion paths in the tree of `size` leaves: from the cache,
    or from the tiles of what it lacks, read in one query."""
    cache = cache if cache is not None else NodeCache()
    hashed: dict[Node, bytes] = {}
    nodes: list[Node] = []
    edges: list[int] = []
    for step in steps:
        level, at = step
        found = cache.edge(at, size) if level == EDGE else cache.get(step)
        if found is not None:
            hashed[step] = found
        elif level == EDGE:
            edges.append(at)
        else:
            nodes.append(step)
    if not nodes and not edges:
        return hashed
    under_edges = [n for lo in edges for n in range_nodes(lo, size)]
    reader = await TreeReader.for_nodes(session, size, [*nodes, *under_edges], cache)
    for k in nodes:
        hashed[k] = reader.node(*k)
    for lo in edges:
        digest = range_hash(lo, size, reader.node)
        cache.put_edge(lo, size, digest)
        hashed[(EDGE, lo)] = digest
    return hashed


async def log_verifier(session: AsyncSession) -> Verifier | None:
    """The verifier of the key that signed the newest checkpoint."""
    checkpoint = await latest_checkpoint(session)
    if checkpoint is None:
        return None
    pem = (
        await session.execute(
            select(col(SigningKey.public_pem)).where(col(SigningKey.key_id) == checkpoint.key_id)
        )
    ).scalar_one_or_none()
    if pem is None:
        return None
    return _verifier_of(pem, parse_checkpoint(split_note(checkpoint.note)[0]).origin)


@dataclass
class TreeReport:
    """The outcome of checking the tree against the store and its checkpoints."""

    ok: bool
    tree_size: int
    leaves_checked: int
    checkpoints_checked: int
    problem: str | None


def _verifier_of(pem: str, name: str) -> Verifier | None:
    try:
        return Verifier(name, raw_public(load_public_key(pem)))
    except SigningKeyError:
        return None


class TreeCheck:
    """Rebuilds the tree from the stored envelopes fed to it in position order, comparing its
    leaves, upper tiles and every signed checkpoint (signature and root)."""

    def __init__(self, size: int, signed: list[Any], problem: str | None, tiles: Any) -> None:
        self.size = size
        self.signed = signed
        self.problem = problem
        self.compact = CompactRange()
        self._wanted = iter(signed)
        self._upcoming = next(self._wanted, None)
        self._tiles = tiles
        self._tile_data, self._tile_index = b"", -1
        self._stopped = False

    @classmethod
    async def start(
        cls, session: AsyncSession, keys: dict[str, str], chunk: int = 5000
    ) -> TreeCheck:
        """Check the signed checkpoints and upper tiles; open the leaf tiles for feeding.

        keys: {key_id: PEM} of every checkpoint key."""
        size = await tree_size(session)
        problem: str | None = None
        signed = list(
            (
                await session.execute(
                    text(
                        "SELECT tree_size, root_hash, note, key_id FROM log_checkpoint "
                        "ORDER BY tree_size"
                    )
                )
            ).all()
        )
        for tree_at, root, note, key_id in signed:
            try:
                body = parse_checkpoint(split_note(note)[0])
                verifier = _verifier_of(keys[key_id], body.origin) if key_id in keys else None
                if verifier is None:
                    raise NoteError(f"no Ed25519 key {key_id} is known")
                open_note(note, verifier)
            except NoteError as exc:
                problem = problem or f"checkpoint of size {tree_at}: {exc}"
                continue
            if (body.size, body.root) != (int(tree_at), bytes(root)):
                problem = problem or f"checkpoint of size {tree_at} differs from its signed note"
        problem = problem or await _check_upper_tiles(session, size)
        tiles = await session.stream(
            text("SELECT idx, hashes FROM log_tile WHERE level = 0 ORDER BY idx").execution_options(
                yield_per=chunk
            )
        )
        return cls(size, signed, problem, aiter(tiles))

    async def feed(self, position: int, body: str) -> None:
        """The next stored envelope (positions from 1, in order)."""
        if self._stopped:
            return
        compact = self.compact
        index = compact.size
        if position != index + 1:
            missing = f"position {index + 1} is missing from the store (deleted)"
            self.problem = self.problem or missing
            self._stopped = True
            return
        h = leaf_hash(body.encode())
        if index < self.size:
            (_, wanted_tile), entry = tile_of(0, index)
            while self._tile_index < wanted_tile:
                row = await anext(self._tiles, None)
                if row is None:
                    break
                self._tile_index, self._tile_data = int(row[0]), bytes(row[1])
            at = entry * HASH_SIZE
            if self._tile_index != wanted_tile or self._tile_data[at : at + HASH_SIZE] != h:
                self.problem = self.problem or (
                    f"leaf {index} (store position {position}) no longer matches the tree: "
                    "the stored event was changed after it was logged"
                )
        compact.append(h)
        while self._upcoming is not None and int(self._upcoming[0]) == compact.size:
            if compact.root() != bytes(self._upcoming[1]):
                self.problem = self.problem or (
                    f"the store no longer gives the root signed at tree size {self._upcoming[0]}"
                )
            self._upcoming = next(self._wanted, None)

    def finish(self) -> TreeReport:
        """The outcome, once every stored envelope was fed."""
        problem, size, leaves = self.problem, self.size, self.compact.size
        if self._upcoming is not None and problem is None:
            problem = (
                f"a checkpoint signed {self._upcoming[0]} leaves but the store holds {leaves}: "
                "events were removed"
            )
        if size > leaves and problem is None:
            problem = f"the tree holds {size} leaves but the store {leaves}: events were removed"
        return TreeReport(problem is None, size, leaves, len(self.signed), problem)


async def verify_all(
    session: AsyncSession, extra_keys: dict[str, str] | None = None
) -> tuple[IntegrityReport, TreeReport]:
    """The hash chain and the Merkle tree, checked in one walk of the store."""
    extra = extra_keys or {}
    keys = {**extra, **{k.key_id: k.public_pem for k in await public_keys(session)}}
    tree = await TreeCheck.start(session, keys)
    report = await verify(session, extra_keys=extra, observe=tree.feed)
    return report, tree.finish()


async def _check_upper_tiles(session: AsyncSession, size: int) -> str | None:
    """Each tile's nodes against its base entries, each full tile's root against its entry one
    tile level up."""
    t = 0
    while (size >> (t * TILE_HEIGHT)) > 0:
        above = {
            (t + 1, int(r[0])): bytes(r[1])
            for r in await session.execute(
                text("SELECT idx, hashes FROM log_tile WHERE level = :t"), {"t": t + 1}
            )
        }
        query = text("SELECT idx, hashes FROM log_tile WHERE level = :t ORDER BY idx")
        rows = await session.stream(query.execution_options(yield_per=1000), {"t": t})
        async for idx, hashes in rows:
            data = bytes(hashes)
            try:
                intact = build_tile(tile_leaves(data)) == data
            except ValueError:
                intact = False
            if not intact:
                return f"tile {t}/{idx} holds nodes that are not the hashes of its entries"
            if leaves_in(len(data)) < TILE_WIDTH:
                continue
            try:
                entry = node_from_tiles((t + 1) * TILE_HEIGHT, int(idx), above)
            except KeyError:
                entry = b""
            if entry != tile_root(data):
                return f"tile {t}/{idx} does not hash to its entry in tile level {t + 1}"
        t += 1
    return None
