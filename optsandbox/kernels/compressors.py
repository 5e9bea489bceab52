"""Contractive compressors for error-feedback methods (shared: any family that compresses may use them).

Every compressor is a module-level ``@njit(COMPRESS_SIG, cache=True)`` function with one signature,

    ``compress(x, k, idx, out) -> nnz``:  write C(x) into ``out``, return the number of nonzeros sent,

where ``idx`` is an int64 scratch buffer of length d (no allocation per call). A kernel takes a compressor
typed ``COMPRESSOR_TYPE`` and so one compiled kernel serves every compressor. Random compressors draw from
numba's global ``np.random`` state, which the calling kernel seeds once (``np.random.seed(seed)``).

A compressor C is delta-contractive when E||C(x) - x||^2 <= (1 - delta) ||x||^2 for every x:

============  ==========================================  ====================  =========================
name          output                                      delta                 bits per message
============  ==========================================  ====================  =========================
topk          the k largest |x_j|, others 0               k/d (every x)         k (32 + ceil(log2 d))
randk         k uniformly random coordinates, others 0    k/d (in expectation)  32 k (indices from a seed)
randk_scaled  (d/k) * randk: unbiased, NOT contractive    none (E = (d/k - 1))  32 k
sign          (||x||_1 / d) sign(x)                       ||x||_1^2/(d||x||^2)  d + 32
                                                          >= 1/d
identity      x                                           1                     32 d
============  ==========================================  ====================  =========================

Bits are counted as 32-bit floats (what a real system sends) although the sandbox computes in float64.
"""
from __future__ import annotations

import math

import numpy as np
from numba import float64, int64, njit, types

_vec = float64[::1]
COMPRESS_SIG = int64(_vec, int64, int64[::1], _vec)
COMPRESSOR_TYPE = types.FunctionType(COMPRESS_SIG)


@njit(int64(_vec, int64, int64[::1]), cache=True)
def select_largest(x, k, idx):
    """Move the indices of the k largest |x_j| into idx[:k] (Hoare quickselect, O(d) on average); return k.

    Ties are resolved by the partition, deterministically for a given x (no randomness).
    """
    d = x.shape[0]
    for i in range(d):
        idx[i] = i
    if k >= d:
        return d
    lo = 0
    hi = d - 1
    target = k - 1
    while lo < hi:
        mid = (lo + hi) // 2
        a = abs(x[idx[lo]])
        b = abs(x[idx[mid]])
        c = abs(x[idx[hi]])
        # median of three as the pivot value
        if (a <= b <= c) or (c <= b <= a):
            pivot = b
        elif (b <= a <= c) or (c <= a <= b):
            pivot = a
        else:
            pivot = c
        i = lo
        j = hi
        while i <= j:
            while i <= hi and abs(x[idx[i]]) > pivot:
                i += 1
            while j >= lo and abs(x[idx[j]]) < pivot:
                j -= 1
            if i <= j:
                tmp = idx[i]
                idx[i] = idx[j]
                idx[j] = tmp
                i += 1
                j -= 1
        # now idx[lo..j] hold |x| >= pivot and idx[i..hi] hold |x| <= pivot
        if target <= j:
            hi = j
        elif target >= i:
            lo = i
        else:
            break
    return k


@njit(COMPRESS_SIG, cache=True)
def topk(x, k, idx, out):
    """Top-k: keep the k largest-magnitude coordinates. ||C(x) - x||^2 <= (1 - k/d) ||x||^2 for every x."""
    d = x.shape[0]
    kk = min(max(k, 1), d)
    select_largest(x, kk, idx)
    out[:] = 0.0
    for m in range(kk):
        out[idx[m]] = x[idx[m]]
    return kk


@njit(int64(int64, int64, int64[::1]), cache=True)
def _random_subset(d, k, idx):
    """Put k distinct uniform indices into idx[:k] (partial Fisher-Yates); return k."""
    for i in range(d):
        idx[i] = i
    for m in range(k):
        r = m + np.random.randint(0, d - m)
        tmp = idx[m]
        idx[m] = idx[r]
        idx[r] = tmp
    return k


@njit(COMPRESS_SIG, cache=True)
def randk(x, k, idx, out):
    """Unscaled Random-k: k uniform coordinates kept as they are. E||C(x) - x||^2 = (1 - k/d) ||x||^2."""
    d = x.shape[0]
    kk = min(max(k, 1), d)
    _random_subset(d, kk, idx)
    out[:] = 0.0
    for m in range(kk):
        out[idx[m]] = x[idx[m]]
    return kk


@njit(COMPRESS_SIG, cache=True)
def randk_scaled(x, k, idx, out):
    """Scaled Random-k (d/k) randk(x): unbiased, E||C(x) - x||^2 = (d/k - 1)||x||^2 -- not contractive."""
    d = x.shape[0]
    kk = min(max(k, 1), d)
    _random_subset(d, kk, idx)
    out[:] = 0.0
    scale = d / kk
    for m in range(kk):
        out[idx[m]] = scale * x[idx[m]]
    return kk


@njit(COMPRESS_SIG, cache=True)
def sign(x, k, idx, out):
    """Scaled sign (||x||_1 / d) sign(x): ||C(x) - x||^2 = ||x||^2 - ||x||_1^2 / d exactly. k is ignored."""
    d = x.shape[0]
    l1 = 0.0
    for j in range(d):
        l1 += abs(x[j])
    scale = l1 / d
    nnz = 0
    for j in range(d):
        if x[j] > 0.0:
            out[j] = scale
            nnz += 1
        elif x[j] < 0.0:
            out[j] = -scale
            nnz += 1
        else:
            out[j] = 0.0
    return nnz


@njit(COMPRESS_SIG, cache=True)
def identity(x, k, idx, out):
    """No compression: C(x) = x (delta = 1)."""
    out[:] = x
    return x.shape[0]


COMPRESSORS = {"topk": topk, "randk": randk, "randk_scaled": randk_scaled, "sign": sign,
               "identity": identity}
CONTRACTIVE = ("topk", "randk", "sign", "identity")


def k_of(name: str, k_ratio: float, d: int) -> int:
    """Return the number of coordinates k = ceil(k_ratio d), clipped to [1, d] (d for sign and identity)."""
    if name in ("sign", "identity"):
        return d
    return int(min(d, max(1, math.ceil(k_ratio * d - 1e-12))))


def delta_of(name: str, k: int, d: int) -> float:
    """Return the worst-case contraction parameter delta (0 for the non-contractive scaled Random-k)."""
    if name in ("topk", "randk"):
        return k / d
    if name == "sign":
        return 1.0 / d
    if name == "identity":
        return 1.0
    return 0.0


def bits_per_message(name: str, k: int, d: int) -> float:
    """Return the bits one compressed d-vector costs on the wire (32-bit floats by convention)."""
    if name == "topk":
        return float(k * (32 + math.ceil(math.log2(max(d, 2)))))
    if name in ("randk", "randk_scaled"):
        return float(32 * k)
    if name == "sign":
        return float(d + 32)
    return float(32 * d)


def floats_per_message(name: str, k: int, d: int) -> float:
    """Return the float payload of one message (values only: k, 1 for sign, d uncompressed)."""
    if name in ("topk", "randk", "randk_scaled"):
        return float(k)
    if name == "sign":
        return 1.0
    return float(d)
