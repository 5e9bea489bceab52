"""Separable classification datasets with independently computed margin and radius.

Every builder returns an :class:`~optsandbox.api.Instance` whose ``data`` follows the family layout
(``oracles.pack``): ``[n_rows, d, B (row-major), c]`` with b_i = y_i a_i the label-folded samples and c_i
their integer multiplicities (the lower-bound dataset has two distinct rows and n - 1 copies of one).

The reference quantities are computed here, never by an algorithm under test:

* R = max_i ||b_i||;
* mu from the min-norm point of conv{b_i} (equivalently the hard-margin SVM without bias), solved exactly
  by non-negative least squares: min_{q >= 0} ||[B^T; 1^T] q - e_{d+1}||^2 (scipy's Lawson-Hanson). With
  p = q / sum(q) and x = B^T p, mu_hi = ||x|| >= mu >= mu_lo = min_i b_i^T x / ||x||; bounds use mu_lo,
  which can only enlarge an upper bound on iterations.
"""
from __future__ import annotations

import numpy as np
from scipy.optimize import nnls

from ..api import Instance
from . import oracles


def max_margin(B: np.ndarray) -> tuple[float, float, np.ndarray]:
    """Return (mu_lo, mu_hi, unit max-margin direction) of the rows of B; mu_hi = 0 if not separable."""
    n, d = B.shape
    M = np.vstack([B.T, np.ones((1, n))])
    e = np.zeros(d + 1)
    e[-1] = 1.0
    q, _ = nnls(M, e, maxiter=50 * (n + d + 1))
    if q.sum() <= 0:
        return 0.0, 0.0, np.zeros(d)
    x = B.T @ (q / q.sum())
    mu_hi = float(np.linalg.norm(x))
    if mu_hi <= 1e-14:
        return 0.0, 0.0, np.zeros(d)
    direction = x / mu_hi
    mu_lo = float(np.min(B @ direction))
    return mu_lo, mu_hi, direction


def batch_perceptron_numpy(B: np.ndarray, counts: np.ndarray, max_iterations: int) -> int:
    """Return T_sep of the Batch Perceptron (half first step, "<= 0" misclassified), or -1.

    A plain NumPy implementation independent of the kernels: builders use it to pick instances with a
    path of a given length, and tests use it as a second implementation.
    """
    n = counts.sum()
    theta = (counts @ B) / (2.0 * n)
    for t in range(1, max_iterations + 1):
        wrong = (B @ theta) <= 0
        if not wrong.any():
            return t
        theta = theta + (counts[wrong] @ B[wrong]) / n
    return -1


def _instance(B: np.ndarray, counts: np.ndarray, mu_lo=None, mu_hi=None) -> Instance:
    B = np.ascontiguousarray(B, dtype=np.float64)
    counts = np.asarray(counts, dtype=np.float64)
    if mu_lo is None:
        mu_lo, mu_hi, direction = max_margin(B)
    else:
        direction = np.zeros(B.shape[1])
    if mu_lo <= 0:
        raise ValueError("the dataset is not linearly separable through the origin (mu <= 0)")
    n = float(counts.sum())
    R = float(np.max(np.linalg.norm(B, axis=1)))
    # f is L-smooth with L = lambda_max(A^T diag(c) A / n) / 4 (weights sigma(1 - sigma) <= 1/4).
    L = float(np.linalg.eigvalsh((B.T * counts) @ B / n)[-1] / 4.0)
    reference = {"n": n, "n_rows": float(B.shape[0]), "d": float(B.shape[1]), "R": R, "mu_lo": float(mu_lo),
                 "mu_hi": float(mu_hi), "R2_over_mu2": R * R / mu_lo ** 2, "L": L,
                 "max_margin_direction": direction}
    return Instance(data=oracles.pack(B, counts), oracles=oracles.ORACLES, reference=reference,
                    dim=B.shape[1])


def build_two_point(params: dict, rng: np.random.Generator) -> Instance:
    """C1 (Thm 4.1): a_1 = (1, -1), y_1 = +1; a_2 = (-1, -4), y_2 = -1; mu = 1, R^2 = 17."""
    B = np.array([[1.0, -1.0], [1.0, 4.0]])
    return _instance(B, np.ones(2))


def build_lower_bound(params: dict, rng: np.random.Generator) -> Instance:
    """C2 (Thm 5.1): one b = (0.5, -1) and n - 1 copies of b = (0.5, 1); mu = 1/2, R^2 = 5/4 exactly."""
    n = int(params["n"])
    B = np.array([[0.5, -1.0], [0.5, 1.0]])
    counts = np.array([1.0, n - 1.0]) if params["lone_first"] else np.array([n - 1.0, 1.0])
    if not params["lone_first"]:
        B = B[::-1].copy()
    inst = _instance(B, counts)
    inst.reference["T_sep_batch_perceptron_exact"] = float((3 * n + 2) // 10 + 1)
    return inst


def build_gaussian_plane(params: dict, rng: np.random.Generator) -> Instance:
    """C3: a ~ N(0, I_d), y = sign(w*^T a), draws with |w*^T a| < tau rejected (easy: mean separates)."""
    n, d, tau = int(params["n"]), int(params["d"]), float(params["tau"])
    w = rng.standard_normal(d)
    w /= np.linalg.norm(w)
    rows = []
    while len(rows) < n:
        a = rng.standard_normal((2 * n, d))
        s = a @ w
        keep = np.abs(s) >= tau
        rows.extend((np.sign(s[keep])[:, None] * a[keep]).tolist())
    return _instance(np.array(rows[:n]), np.ones(n))


def _offset_anisotropic(n, d, offset, s_max, s_min, tau, pos_fraction, rng) -> np.ndarray:
    w = rng.standard_normal(d)
    w /= np.linalg.norm(w)
    u = rng.standard_normal(d)
    u -= (u @ w) * w
    u /= np.linalg.norm(u)
    scales = np.logspace(np.log10(s_max), np.log10(s_min), d)
    want_pos = n // 2 if pos_fraction <= 0 else int(round(pos_fraction * n))
    pos, neg = [], []
    while len(pos) < want_pos or len(neg) < n - want_pos:
        a = scales * rng.standard_normal((4 * n, d)) + offset * u
        s = a @ w
        for row, score in zip(a, s):
            if abs(score) < tau:
                continue
            if score > 0 and len(pos) < want_pos:
                pos.append(row)
            elif score < 0 and len(neg) < n - want_pos:
                neg.append(-row)  # b = y a
    B = np.array(pos + neg)
    return B[rng.permutation(n)]


def build_offset_anisotropic(params: dict, rng: np.random.Generator) -> Instance:
    """C4: a = s * g + offset * u with u orthogonal to the separator; hard (R^2/mu^2 in the thousands)."""
    B = _offset_anisotropic(int(params["n"]), int(params["d"]), params["offset"], params["s_max"],
                            params["s_min"], params["tau"], params["pos_fraction"], rng)
    return _instance(B, np.ones(B.shape[0]))


def build_generic_2d(params: dict, rng: np.random.Generator) -> Instance:
    """C5: the C4 recipe with d = 2, unit scales; redrawn until the Batch Perceptron path has length >= k.

    The limit test needs a path of a few iterations; redrawing keeps a test seed-free. The length is
    measured by :func:`batch_perceptron_numpy`, not by the kernels under test.
    """
    n, min_len = int(params["n"]), int(params["min_path_length"])
    for _ in range(1000):
        B = _offset_anisotropic(n, 2, params["offset"], 1.0, 1.0, params["tau"], params["pos_fraction"], rng)
        if batch_perceptron_numpy(B, np.ones(n), 10_000) >= min_len:
            return _instance(B, np.ones(n))
    raise ValueError(f"no generic_2d draw with a Batch Perceptron path of length >= {min_len}")
