"""The allocated own addresses of one chain, held in memory by its block follower, so that a block's outputs are
matched in memory and only the few candidates are looked up in PostgreSQL (whatever the number allocated).

The set holds a 64-bit hash of every allocated address: a false positive costs one index probe, never a wrong
deposit (PostgreSQL has the last word); a false negative would lose a payment, so the set is refreshed before
every match by an exact method (db/chain_watch.py: allocated_since, by allocating transaction id, sql/0018):
after a refresh it holds every address whose allocation had committed when the refresh began.
"""

from __future__ import annotations

import asyncio
import logging
from array import array
from bisect import bisect_left
from collections.abc import Iterable

import asyncpg

from coinvoice.db import chain_watch as db
from coinvoice.db.connection import Conn
from coinvoice.services import deposits

log = logging.getLogger(__name__)

_MASK = (1 << 64) - 1
#: Bits of the prefilter bitmap per hash held (16 to 32): each hash sets two bits (a Bloom filter of its top and
#: bottom bits), so a lookup of an absent address passes with odds of 1.5% at most before its exact check.
_BITS_PER_ENTRY = 16
_MIN_BITS_LOG2 = 16
_BUCKET_BITS = 12


class HashSet64:
    """A compact set of 64-bit hashes: a sorted ``array('Q')`` (8 bytes each), a bitmap (2 to 4 bytes each) that
    rejects nearly every absent value in a few bytecodes, whatever the size, and a small set of recent additions
    merged into the array now and then.

    Hashes are Python's own ``hash(str)`` (SipHash, cached on the string): the set lives and dies with the
    process, so the per-process hash seed does no harm.
    """

    def __init__(self, hashes: Iterable[int] = ()) -> None:
        self._sorted = _sorted_array(hashes)  # a duplicate would be harmless
        self._recent: set[int] = set()
        self._index()

    def __len__(self) -> int:
        return len(self._sorted) + len(self._recent)

    @property
    def nbytes(self) -> int:
        """Memory held by the array and the bitmap (the recent set is small: at most an eighth of the array)."""
        return len(self._sorted) * self._sorted.itemsize + len(self._bits)

    def add(self, hashes: Iterable[int]) -> None:
        for h in hashes:
            u = h & _MASK
            if not self._has(u):
                self._recent.add(u)
                self._mark(u)

    @property
    def crowded(self) -> bool:
        """Enough recent additions that merging them into the sorted array is due."""
        return len(self._recent) > max(1024, len(self._sorted) // 8)

    def merged(self) -> HashSet64:
        """A new set with the recent additions merged into the array; this one is left as it was, so a thread can
        build it (a second at a million) while the event loop goes on. The array is one sorted run: timsort sorts
        the recent few and merges them in one pass."""
        return HashSet64([*self._sorted, *self._recent])

    def pick(self, strings: Iterable[str]) -> list[str]:
        """The strings whose hash may be in the set (all of those whose hash is)."""
        bits, shift, low, has = self._bits, self._shift, self._low, self._has
        out = []
        for s in strings:
            u = hash(s) & _MASK
            b, c = u >> shift, u & low
            if bits[b >> 3] & (1 << (b & 7)) and bits[c >> 3] & (1 << (c & 7)) and has(u):
                out.append(s)
        return out

    def _has(self, u: int) -> bool:
        if u in self._recent:
            return True
        i = bisect_left(self._sorted, u)
        return i < len(self._sorted) and self._sorted[i] == u

    def _index(self) -> None:
        bits_log2 = max(_MIN_BITS_LOG2, (len(self._sorted) * _BITS_PER_ENTRY - 1).bit_length())
        self._shift, self._low = 64 - bits_log2, (1 << bits_log2) - 1
        self._bits = bytearray(1 << (bits_log2 - 3))
        shift, low, bits = self._shift, self._low, self._bits
        for u in self._sorted:
            b, c = u >> shift, u & low
            bits[b >> 3] |= 1 << (b & 7)
            bits[c >> 3] |= 1 << (c & 7)

    def _mark(self, u: int) -> None:
        b, c = u >> self._shift, u & self._low
        self._bits[b >> 3] |= 1 << (b & 7)
        self._bits[c >> 3] |= 1 << (c & 7)


class AllocatedAddresses:
    """The allocated own addresses of one chain: loaded from PostgreSQL at first use, then refreshed before each
    match with the rows allocated since (nothing is ever removed: an address stays allocated forever)."""

    def __init__(self, chain: str) -> None:
        self.chain = chain
        self._set: HashSet64 | None = None
        self._boundary: int | None = None  # the last refresh's snapshot xmin

    @property
    def size(self) -> int:
        return 0 if self._set is None else len(self._set)

    @property
    def nbytes(self) -> int:
        return 0 if self._set is None else self._set.nbytes

    async def refresh(self, conn: Conn) -> None:
        """Take in every address allocated since the last refresh (all of them the first time).

        A snapshot xmin never goes backwards in one database: when it does, the database was restored or replaced
        under a running watcher, and the set is loaded again from scratch. Call outside a transaction.
        """
        if self._set is not None:
            more, since = self._set, self._boundary
            boundary = await db.allocated_since(conn, self.chain, since, lambda chunk: more.add(_hashes(chunk)))
            if since is not None and boundary >= since:
                self._boundary = boundary
                if more.crowded:
                    self._set = await asyncio.to_thread(more.merged)
                return
            log.warning("%s: the database's transaction ids went backwards; reloading allocated addresses", self.chain)
        loaded = array("Q")  # the full load: collected compactly, sorted once
        boundary = await db.allocated_since(conn, self.chain, None, lambda chunk: loaded.extend(_hashes(chunk)))
        # sorting and indexing a million hashes takes seconds of CPU: in a thread, so that the worker's other jobs
        # (the other chains, the webhook sender) keep running meanwhile
        self._set, self._boundary = await asyncio.to_thread(HashSet64, loaded), boundary

    def candidates(self, addresses: Iterable[str]) -> list[str]:
        """The addresses that may be allocated (every allocated one is among them); call refresh first."""
        if self._set is None:
            raise RuntimeError("refresh() before candidates()")
        return self._set.pick(addresses)

    async def match(self, conn: Conn, addresses: Iterable[str]) -> dict[str, asyncpg.Record]:
        """Our allocated addresses among ``addresses``, by address (deposits.match_addresses on the candidates).

        Call outside a transaction, before the one that records what matched.
        """
        await self.refresh(conn)
        found = self.candidates(addresses)
        return await deposits.match_addresses(conn, self.chain, found) if found else {}


def _sorted_array(hashes: Iterable[int]) -> array[int]:
    """``array("Q", sorted(h & _MASK for h in hashes))``, in small steps: bucketed by their top 12 bits, each
    bucket sorted on its own (in order of the buckets, that is the whole order). One sort of a million holds the
    GIL for a few hundred milliseconds, so the event loop would stall while a thread builds the set; here no step
    holds it for more than a fraction of a millisecond."""
    buckets: list[list[int]] = [[] for _ in range(1 << _BUCKET_BITS)]
    shift = 64 - _BUCKET_BITS
    for h in hashes:
        u = h & _MASK
        buckets[u >> shift].append(u)
    out = array("Q")
    for bucket in buckets:
        bucket.sort()
        out.extend(bucket)
    return out


def _hashes(addresses: list[str]) -> Iterable[int]:
    return (hash(a) & _MASK for a in addresses)
