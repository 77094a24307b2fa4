"""A vectorised MinHash engine that computes exactly ``datasketch.MinHash`` signatures.

datasketch's definition (scheme ``affine32``, its default since 2.0): each shingle is hashed to 32
bits by a hash function, mixed by the MurmurHash3 finalizer, then permuted by ``a * h + b`` in
32-bit arithmetic for each of ``num_perm`` pairs ``(a, b)`` drawn from ``RandomState(seed)``; the
signature is the minimum per permutation. We take ``(a, b)`` from datasketch itself and do the
same arithmetic on whole arrays of shingles at once, laid out permutations x shingles so the
min-reduction streams through memory.

The per-shingle hash is where a Python loop spends its time (``hashlib.sha1`` per shingle). The
``fast`` hash used by default is a 64-bit polynomial hash of the shingle's code points, of which
the high 32 bits of its product with an odd constant are kept (they depend on every input bit; datasketch's 32-bit MurmurHash3 mix
follows anyway); every shingle is a substring of the
record's normalised text, so prefix sums give all substring hashes in a few array operations.
``shingle_hash`` computes the same value for one string, so
``datasketch.MinHash(hashfunc=shingle_hash)`` reproduces our signatures bit for bit (a test
asserts it); ``hashfunc="sha1"`` reproduces plain ``datasketch.MinHash()`` instead, slowly.
"""

from __future__ import annotations

import hashlib
import struct
from functools import lru_cache
from typing import Literal

import numpy as np

ShingleKind = Literal["char", "word"]
HashName = Literal["fast", "sha1"]

_MULT = 0x9E3779B97F4A7C15
"""Odd 64-bit multiplier of the polynomial hash (odd, so it is invertible modulo 2**64)."""
_MULT_INV = pow(_MULT, -1, 1 << 64)
_MASK64 = (1 << 64) - 1
_SPACE = 32
_CHUNK_SHINGLES = 12_000
"""Shingles per signature chunk: 12k x 128 permutations x 4 bytes = 6 MB stays in cache (2-3x
faster than 60k-shingle chunks, measured)."""


# -- shingles ----------------------------------------------------------------------------------


def shingles(text: str, kind: ShingleKind, n: int) -> list[str]:
    """The shingles of one normalised text (reference definition; the engine vectorises it).

    Character shingles are the ``n``-character substrings; word shingles are ``n`` consecutive
    words joined by one space (the text is normalised, so words are split by single spaces). A
    non-empty text shorter than ``n`` has one shingle, itself; an empty text has none.
    """
    if not text:
        return []
    if kind == "char":
        units: list[str] = list(text)
        sep = ""
    else:
        units = text.split(" ")
        sep = " "
    if len(units) < n:
        return [text]
    return [sep.join(units[i : i + n]) for i in range(len(units) - n + 1)]


def shingle_hash(shingle: str | bytes) -> int:
    """The ``fast`` 32-bit hash of one shingle (usable as datasketch's ``hashfunc``)."""
    if isinstance(shingle, bytes):
        shingle = shingle.decode("utf-8")
    h = 0
    for ch in shingle:
        h = (h * _MULT + ord(ch)) & _MASK64
    return ((h * _MULT) & _MASK64) >> 32


def _fmix64(h: np.ndarray) -> np.ndarray:
    h = h ^ (h >> np.uint64(33))
    h = h * np.uint64(0xFF51AFD7ED558CCD)
    h = h ^ (h >> np.uint64(33))
    h = h * np.uint64(0xC4CEB9FE1A85EC53)
    return h ^ (h >> np.uint64(33))


def _fmix32(h: np.ndarray) -> np.ndarray:
    h = h ^ (h >> np.uint32(16))
    h = h * np.uint32(0x85EBCA6B)
    h = h ^ (h >> np.uint32(13))
    h = h * np.uint32(0xC2B2AE35)
    return h ^ (h >> np.uint32(16))


def _powers(base: int, count: int) -> np.ndarray:
    """``base**k mod 2**64`` for k in ``range(count)`` (uint64 products wrap, as intended)."""
    out = np.full(count, base, dtype=np.uint64)
    if count:
        out[0] = 1
    return np.cumprod(out, dtype=np.uint64)


def _spans(
    cps: np.ndarray, starts: np.ndarray, lengths: np.ndarray, kind: ShingleKind, n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every shingle as a ``(start, end)`` span of the joined text, with its text's index."""
    if kind == "char":
        count = np.where(lengths >= n, lengths - n + 1, (lengths > 0).astype(np.int64))
        owner = np.repeat(np.arange(len(lengths)), count)
        first = np.cumsum(count) - count
        local = np.arange(int(count.sum())) - np.repeat(first, count)
        s = starts[owner] + local
        e = np.where(lengths[owner] >= n, s + n, starts[owner] + lengths[owner])
        return s, e, owner
    is_char = cps != _SPACE
    text_start = np.zeros(len(cps), dtype=bool)
    text_start[starts[lengths > 0]] = True
    text_end = np.zeros(len(cps) + 1, dtype=bool)
    text_end[(starts + lengths)[lengths > 0]] = True
    prev_space = np.r_[True, ~is_char[:-1]]
    next_space = np.r_[~is_char[1:], True]
    ws = np.flatnonzero(is_char & (prev_space | text_start))
    we = np.flatnonzero(is_char & (next_space | text_end[1:])) + 1
    word_owner = np.searchsorted(starts, ws, side="right") - 1
    per_text = np.bincount(word_owner, minlength=len(lengths))
    k = np.arange(max(len(ws) - n + 1, 0))
    full = k[word_owner[k] == word_owner[k + n - 1]]
    short = np.flatnonzero((per_text > 0) & (per_text < n))
    first_word = np.cumsum(per_text) - per_text
    s = np.concatenate([ws[full], ws[first_word[short]]])
    e = np.concatenate([we[full + n - 1], we[first_word[short] + per_text[short] - 1]])
    owner = np.concatenate([word_owner[full], short])
    order = np.argsort(s, kind="stable")
    return s[order], e[order], owner[order]


def shingle_hashes(
    texts: list[str], kind: ShingleKind, n: int, hashfunc: HashName = "fast"
) -> tuple[np.ndarray, np.ndarray]:
    """The 32-bit hashes of every shingle of every text, grouped by text.

    Returns:
        ``(hashes, counts)``: uint32 hashes in text order, and the number of shingles per text.
    """
    lengths = np.fromiter((len(t) for t in texts), dtype=np.int64, count=len(texts))
    starts = np.cumsum(lengths) - lengths
    joined = "".join(texts)
    cps = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    s, e, owner = _spans(cps, starts, lengths, kind, n)
    counts = np.bincount(owner, minlength=len(texts)).astype(np.int64)
    if hashfunc == "sha1":
        hashes = np.fromiter(
            (
                struct.unpack("<I", hashlib.sha1(joined[i:j].encode("utf-8")).digest()[:4])[0]
                for i, j in zip(s.tolist(), e.tolist(), strict=True)
            ),
            dtype=np.uint32,
            count=len(s),
        )
        return hashes, counts
    # prefix[k] = sum_{j<k} c_j * MULT^-j, so hash(s, e) = MULT^(e-1) * (prefix[e] - prefix[s]).
    prefix = np.zeros(len(cps) + 1, dtype=np.uint64)
    np.cumsum(cps * _powers(_MULT_INV, len(cps)), out=prefix[1:], dtype=np.uint64)
    up = _powers(_MULT, len(cps) + 1)
    poly = up[e - 1] * (prefix[e] - prefix[s])
    # One more multiplication so the last code point also reaches the high bits.
    return ((poly * np.uint64(_MULT)) >> np.uint64(32)).astype(np.uint32), counts


# -- signatures --------------------------------------------------------------------------------


@lru_cache(maxsize=8)
def permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """datasketch's permutation parameters ``(a, b)`` for ``num_perm`` and ``seed`` (uint32)."""
    from datasketch import MinHash

    a, b = MinHash(num_perm=num_perm, seed=seed, scheme="affine32").permutations
    return a.astype(np.uint32), b.astype(np.uint32)


def signatures(hashes: np.ndarray, counts: np.ndarray, num_perm: int, seed: int) -> np.ndarray:
    """MinHash signatures, one row per text, equal to datasketch's ``MinHash.hashvalues``.

    Texts without shingles get datasketch's empty value (all ``2**32 - 1``).
    """
    a, b = permutations(num_perm, seed)
    out = np.full((len(counts), num_perm), np.iinfo(np.uint32).max, dtype=np.uint32)
    nonempty = np.flatnonzero(counts > 0)
    if not len(nonempty):
        return out
    mixed = _fmix32(hashes)
    ends = np.cumsum(counts[nonempty])
    begins = ends - counts[nonempty]
    # One buffer reused for every chunk: fresh allocations cost page faults, and a chunk this
    # size stays in cache between the multiply, the add and the min-reduction.
    buffer = np.empty((num_perm, _CHUNK_SHINGLES + int(counts.max())), dtype=np.uint32)
    a_col, b_col = a[:, None], b[:, None]
    lo = 0
    while lo < len(nonempty):
        # As many texts as fit in one chunk of shingles (at least one).
        hi = max(int(np.searchsorted(ends, begins[lo] + _CHUNK_SHINGLES, side="right")), lo + 1)
        start, stop = begins[lo], ends[hi - 1]
        block = buffer[:, : stop - start]
        np.multiply(a_col, mixed[None, start:stop], out=block)
        block += b_col
        out[nonempty[lo:hi]] = np.minimum.reduceat(block, begins[lo:hi] - start, axis=1).T
        lo = hi
    return out


# -- LSH ---------------------------------------------------------------------------------------


@lru_cache(maxsize=32)
def optimal_bands(
    threshold: float, num_perm: int, false_negative_weight: float = 0.5
) -> tuple[int, int]:
    """Bands and rows per band for a Jaccard threshold: datasketch's optimisation (weights on
    the false-positive and false-negative probability mass; equal by default), vectorised.

    datasketch integrates each ``(b, r)`` with ``scipy.integrate.quad`` (seconds for 128
    permutations); here all candidates are integrated at once by the trapezoid rule on a fine
    grid, which picks the same ``(b, r)`` (a test compares with ``MinHashLSH``).
    """
    pairs = np.array([(b, r) for b in range(1, num_perm + 1) for r in range(1, num_perm // b + 1)])
    b, r = pairs[:, :1].astype(np.float64), pairs[:, 1:].astype(np.float64)
    below = np.linspace(0.0, threshold, 2001)[None, :]
    above = np.linspace(threshold, 1.0, 2001)[None, :]
    false_pos = np.trapezoid(1 - (1 - below**r) ** b, below, axis=1)
    false_neg = np.trapezoid((1 - above**r) ** b, above, axis=1)
    weighted = (1 - false_negative_weight) * false_pos + false_negative_weight * false_neg
    best = int(np.argmin(weighted))
    return int(pairs[best, 0]), int(pairs[best, 1])


def lsh_pairs(sigs: np.ndarray, bands: int, rows: int) -> tuple[np.ndarray, np.ndarray]:
    """Candidate pairs: records whose signatures agree on every row of at least one band.

    Within a bucket, each member is paired with the bucket's first member and with its
    predecessor (linear in the bucket size, never quadratic); clusters are then closed by
    union-find, and verification sees the chain as well as the star.

    Returns:
        ``(left, right)`` row indices with ``left < right``, unique and sorted.
    """
    n = len(sigs)
    found: list[np.ndarray] = []
    for band in range(bands):
        key = band_key(sigs, band, rows)
        order = np.argsort(key, kind="stable")
        sorted_key = key[order]
        same = sorted_key[1:] == sorted_key[:-1]
        if not same.any():
            continue
        pos = np.arange(n)
        group_start = np.maximum.accumulate(np.where(np.r_[True, ~same], pos, 0))
        member = order[1:][same]
        for other in (order[:-1][same], order[group_start[1:][same]]):
            lo, hi = np.minimum(member, other), np.maximum(member, other)
            found.append(lo.astype(np.int64) * n + hi)
    if not found:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    codes = _sorted_unique(np.concatenate(found))
    return codes // n, codes % n


def band_key(sigs: np.ndarray, band: int, rows: int) -> np.ndarray:
    """The 64-bit bucket key of each signature in one band (equal rows give equal keys)."""
    block = sigs[:, band * rows : (band + 1) * rows].astype(np.uint64)
    return _fmix64((block * _powers(_MULT, rows)).sum(axis=1, dtype=np.uint64))


def estimated_jaccard(sigs: np.ndarray, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """The fraction of equal signature values per pair (datasketch's ``MinHash.jaccard``)."""
    out = np.empty(len(left), dtype=np.float64)
    for lo in range(0, len(left), 50_000):
        hi = lo + 50_000
        out[lo:hi] = (sigs[left[lo:hi]] == sigs[right[lo:hi]]).mean(axis=1)
    return out


def exact_jaccard(
    hashes: np.ndarray, counts: np.ndarray, left: np.ndarray, right: np.ndarray
) -> np.ndarray:
    """Jaccard similarity of the shingle-hash sets of each pair ``(left[k], right[k])``.

    ``hashes``/``counts`` are as ``shingle_hashes`` returns them (duplicates allowed).
    """
    return set_jaccard(*distinct_hashes(hashes, counts), left, right)


def set_jaccard(
    sets: np.ndarray, sizes: np.ndarray, left: np.ndarray, right: np.ndarray
) -> np.ndarray:
    """Jaccard similarity of each pair ``(left[k], right[k])`` of distinct-hash sets (as
    ``distinct_hashes`` returns them).

    Pairs are processed in chunks: each chunk tags every member's hashes with the pair number,
    sorts once, and counts the tags seen twice (the intersection).
    """
    offsets = np.cumsum(sizes) - sizes
    out = np.empty(len(left), dtype=np.float64)
    for lo in range(0, len(left), 4_000):
        li, ri = left[lo : lo + 4_000], right[lo : lo + 4_000]
        m = len(li)
        parts = []
        for side in (li, ri):
            idx = _ranges(offsets[side], sizes[side])
            tag = np.repeat(np.arange(m, dtype=np.uint64), sizes[side]) << np.uint64(32)
            parts.append(tag | sets[idx].astype(np.uint64))
        keys = np.sort(np.concatenate(parts))
        twice = keys[1:][keys[1:] == keys[:-1]] >> np.uint64(32)
        inter = np.bincount(twice.astype(np.int64), minlength=m)
        union = sizes[li] + sizes[ri] - inter
        out[lo : lo + m] = np.where(union > 0, inter / np.maximum(union, 1), 0.0)
    return out


def distinct_hashes(hashes: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-text sorted distinct hashes, and how many each text has (a slice of texts at a time,
    so the 64-bit sort keys never exist for the whole input at once)."""
    ends = np.cumsum(counts)
    sets, sizes = [], []
    lo = 0
    while lo < len(counts):
        start = int(ends[lo] - counts[lo])
        hi = max(int(np.searchsorted(ends, start + 1_000_000, side="right")), lo + 1)
        owner = np.repeat(np.arange(hi - lo, dtype=np.uint64), counts[lo:hi])
        keys = _sorted_unique((owner << np.uint64(32)) | hashes[start : ends[hi - 1]])
        sizes.append(np.bincount((keys >> np.uint64(32)).astype(np.int64), minlength=hi - lo))
        sets.append((keys & np.uint64(0xFFFFFFFF)).astype(np.uint32))
        lo = hi
    if not sets:
        return np.zeros(0, dtype=np.uint32), np.zeros(0, dtype=np.int64)
    return np.concatenate(sets), np.concatenate(sizes)


def _ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Concatenated ``range(start, start + length)`` for each pair, vectorised."""
    total = int(lengths.sum())
    shift = np.repeat(starts - (np.cumsum(lengths) - lengths), lengths)
    return np.arange(total) + shift


def _sorted_unique(values: np.ndarray) -> np.ndarray:
    """``np.unique`` by an in-place sort and a mask: several times faster on large integer arrays
    (NumPy 2.4's ``np.unique`` takes a slow path for them)."""
    values = np.sort(values)
    if len(values) < 2:
        return values
    return values[np.r_[True, values[1:] != values[:-1]]]
