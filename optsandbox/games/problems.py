"""Test games of the SGN family (spec section 7) with their equilibria and exact constants.

Every builder returns an :class:`~optsandbox.api.Instance` in the family layout (``oracles.pack``). The
equilibrium is known by construction: x* is chosen (0, or a random point of norm ``offset``) and the
constant term is set to c = -(H x* + kappa tanh(x*)), so F(x*) = 0; with the SGN certificate (or any
strong monotonicity in some metric) it is the unique equilibrium, and when a box ``X`` contains it, it
also solves VI(F, X). The builders also record the facts known in closed form (spec section 6.1 for the
canonical LQ game) -- the reference against which the certificate code is tested.

Initial point: ``x0 = x* + init_scale * u`` with u a uniform random unit vector (seeded by the problem's
rng, so every algorithm of a scenario starts from the same point for the same seed), or an explicit list
``x0`` where the problem has that parameter.
"""
from __future__ import annotations

import math

import numpy as np

from ..api import Instance
from . import oracles


def _orthogonal(d: int, rng: np.random.Generator) -> np.ndarray:
    """Return a Haar-random orthogonal matrix: QR of a Gaussian matrix with R's diagonal made positive."""
    Q, R = np.linalg.qr(rng.standard_normal((d, d)))
    return Q * np.sign(np.diag(R))[None, :]


def _unit_spectral(d: int, rng: np.random.Generator) -> np.ndarray:
    G = rng.standard_normal((d, d))
    return G / np.linalg.norm(G, 2)


def _direction(dim: int, rng: np.random.Generator) -> np.ndarray:
    u = rng.standard_normal(dim)
    return u / np.linalg.norm(u)


def _instance(H, blocks, params: dict, rng, kappa: float = 0.0, reference: dict | None = None,
              x0=None) -> Instance:
    """Place x*, the box and x0; return the Instance with its reference facts."""
    dim = H.shape[0]
    offset = float(params.get("offset", 0.0))
    box = float(params.get("box", 0.0))
    xstar = offset * _direction(dim, rng) if offset > 0 else np.zeros(dim)
    if box > 0:
        if np.max(np.abs(xstar)) >= box:
            raise ValueError(f"problem.box = {box:g} must exceed problem.offset = {offset:g} (x* inside X)")
        lo, hi = -box * np.ones(dim), box * np.ones(dim)
    else:
        lo, hi = -np.inf * np.ones(dim), np.inf * np.ones(dim)
    c = -(H @ xstar + kappa * np.tanh(xstar))
    if x0 is None:
        x0 = xstar + float(params.get("init_scale", 1.0)) * _direction(dim, rng)
    x0 = np.clip(np.asarray(x0, float), lo, hi)
    data = oracles.pack(H, c, blocks, lo, hi, kappa)
    ref = {"x_star": xstar, "x0": x0, "H": np.array(H), "players": float(len(blocks)),
           "euclid_margin_exact": float(np.linalg.eigvalsh(0.5 * (H + H.T))[0]) if kappa == 0 else math.nan}
    ref.update(reference or {})
    return Instance(data=data, oracles=dict(oracles.ORACLES), reference=ref, dim=dim)


def two_player_H(Q1, Q2, A12, A21) -> np.ndarray:
    """Return H = [[Q1, A12], [A21, Q2]]: F = (Q1 x1 + A12 x2, A21 x1 + Q2 x2)."""
    return np.block([[Q1, A12], [A21, Q2]])


def build_toy2d(params: dict, rng: np.random.Generator) -> Instance:
    """2-D toy game (spec 7.1): f1 = mu1 x1^2/2 + a x1 x2, f2 = mu2 x2^2/2 + b x1 x2; H = [[mu1, a], [b, mu2]].

    Reference: gamma = lambda_min(sym H) = (mu1 + mu2)/2 - sqrt(((mu1 - mu2)/2)^2 + ((a + b)/2)^2) and the
    best SGN margin ((mu1 + mu2) - sqrt((mu1 - mu2)^2 + 4ab))/2 = min eigenvalue of H when a b > 0.
    """
    m1, m2, a, b = params["mu1"], params["mu2"], params["a"], params["b"]
    H = np.array([[m1, a], [b, m2]], dtype=float)
    gamma = (m1 + m2) / 2 - math.sqrt(((m1 - m2) / 2) ** 2 + ((a + b) / 2) ** 2)
    alpha = ((m1 + m2) - math.sqrt((m1 - m2) ** 2 + 4 * abs(a * b))) / 2
    x0 = params["x0"] or None
    if x0 is not None and len(x0) != 2:
        raise ValueError(f"problem.x0 = {x0!r}: expected two numbers")
    return _instance(H, (1, 1), params, rng, reference={"euclid_margin_closed_form": gamma,
                                                         "alpha_max_closed_form": alpha}, x0=x0)


def canonical_lq_H(d: int, lam: float, a: float, b: float, mix: float, rng) -> np.ndarray:
    """Return H of the canonical LQ game (spec 7.2; 7.4 when mix > 0): Q_i = I, A12 = lam a R_12,
    A21 = lam b R_21 with R_12 = (1 - mix) R + mix N_12, R_21 = (1 - mix) R^T + mix N_21."""
    R = _orthogonal(d, rng)
    R12, R21 = R, R.T
    if mix > 0:
        R12 = (1 - mix) * R + mix * _unit_spectral(d, rng)
        R21 = (1 - mix) * R.T + mix * _unit_spectral(d, rng)
    eye = np.eye(d)
    return two_player_H(eye, eye, lam * a * R12, lam * b * R21)


def _canonical_facts(lam, a, b) -> dict:
    """Closed forms of the clean canonical LQ game (spec 6.1 and 6.3), c = lam sqrt(ab)."""
    c = lam * math.sqrt(a * b)
    facts = {"coupling_c": c, "euclid_margin_closed_form": 1 - lam * (a + b) / 2,
             "alpha_max_closed_form": 1 - c, "beta_balanced_closed_form": 1 + c,
             "euler_threshold_closed_form": 2 / (1 + c) if c < 1 else 0.0}
    facts["euler_step_sgn_closed_form"] = 2 * (1 - c) / (1 + c) ** 2 if c < 1 else 0.0
    return facts


def build_lq(params: dict, rng: np.random.Generator) -> Instance:
    """Canonical two-player LQ game (spec 7.2; structured noise 7.4 with ``mix``): x in R^{2d}."""
    d, lam, a, b, mix = params["d"], params["lam"], params["a"], params["b"], params["mix"]
    H = canonical_lq_H(d, lam, a, b, mix, rng)
    ref = _canonical_facts(lam, a, b) if mix == 0 else {}
    return _instance(H, (d, d), params, rng, reference=ref)


def build_lq_random(params: dict, rng: np.random.Generator) -> Instance:
    """Random LQ game (spec 7.3): Q_i = G_i^T G_i / d + I, A12 = lam a G, A21 = lam b G^T, ||G||_2 = 1.

    (G_i Gaussian d x d scaled by 1/sqrt(d) so the own curvature stays O(1) whatever d.) L_12 = lam a,
    L_21 = lam b exactly; mu_i = lambda_min(Q_i) >= 1. SGN is no longer exact (conservatism)."""
    d, lam, a, b = params["d"], params["lam"], params["a"], params["b"]
    Qs = []
    for _ in range(2):
        G = rng.standard_normal((d, d)) / math.sqrt(d)
        Qs.append(G.T @ G + np.eye(d))
    G = _unit_spectral(d, rng)
    H = two_player_H(Qs[0], Qs[1], lam * a * G, lam * b * G.T)
    return _instance(H, (d, d), params, rng, reference={"L12": lam * a, "L21": lam * b,
                                                        "mu1": float(np.linalg.eigvalsh(Qs[0])[0]),
                                                        "mu2": float(np.linalg.eigvalsh(Qs[1])[0])})


def nplayer_blocks(N: int, d: int, rho: float, mu_min: float, mu_max: float, asymmetry: float, rng):
    """Return (H, mu, L) of an N-player quadratic game with prescribed small-gain ratio rho.

    mu_i uniform in [mu_min, mu_max]; Q_i = U diag(mu_i, spectrum above mu_i) U^T; a random nonnegative
    coupling pattern E: players are put in a random order, each pair's coupling from the earlier to the
    later player gets u ~ U(0.5, 1), the reverse one u' / asymmetry (one-sided couplings: large entries,
    small cycle products, so the Euclidean test fails long before the small-gain one); E is scaled so that
    rho(diag(mu)^{-1} L) = rho exactly; A_ij = L_ij times a Gaussian matrix of spectral norm 1, so
    ||A_ij||_2 = L_ij.
    """
    mu = rng.uniform(mu_min, mu_max, size=N)
    E = np.zeros((N, N))
    order = rng.permutation(N)
    for k in range(N):
        for l in range(k + 1, N):
            big, small = rng.uniform(0.5, 1.0, size=2)
            E[order[l], order[k]], E[order[k], order[l]] = big, small / max(asymmetry, 1.0)
    r0 = float(np.max(np.abs(np.linalg.eigvals(E / mu[:, None]))))
    L = E * (rho / r0)
    H = np.zeros((N * d, N * d))
    for i in range(N):
        U = _orthogonal(d, rng)
        spectrum = mu[i] + np.concatenate([[0.0], rng.uniform(0.0, 1.0, size=d - 1)])
        H[i * d:(i + 1) * d, i * d:(i + 1) * d] = (U * spectrum) @ U.T
        for j in range(N):
            if j != i:
                H[i * d:(i + 1) * d, j * d:(j + 1) * d] = L[i, j] * _unit_spectral(d, rng)
    return H, mu, L


def build_nplayer(params: dict, rng: np.random.Generator) -> Instance:
    """N-player quadratic game with small-gain ratio ``rho`` (< 1: SGN certifies; >= 1: it cannot)."""
    N, d = params["players"], params["d"]
    H, mu, L = nplayer_blocks(N, d, params["rho"], params["mu_min"], params["mu_max"], params["asymmetry"], rng)
    ref = {"small_gain_ratio_exact": params["rho"]}
    for i in range(N):
        ref[f"mu{i + 1}"] = float(mu[i])
    return _instance(H, (d,) * N, params, rng, reference=ref)


def build_tanh_game(params: dict, rng: np.random.Generator) -> Instance:
    """Non-quadratic two-player game: F(x) = H x + c + kappa tanh(x), H the canonical LQ matrix.

    The Jacobian H + kappa diag(sech^2 x) varies with x: the certificate samples it on the box of radius
    ``region`` around x* = 0. Exact facts on that box (kappa >= 0, Q_i = I): mu_i = 1 + kappa sech^2(region),
    L_12 = lam a, L_21 = lam b. x0 is placed at M-distance ``init_fraction`` * region * sqrt(min w) from x*
    (w the certificate's weights, normalized to w_N = 1), so the initial M-ball lies inside the box and
    contraction keeps every iterate in the certified region. With 3^(2d) <= 4096 sample points (d <= 3)
    the sampled constants are exact, hence the certificate rigorous (see ``certificate.certify``).
    """
    from .certificate import certify

    d, lam, a, b, kappa, radius = params["d"], params["lam"], params["a"], params["b"], params["kappa"], \
        params["region"]
    H = canonical_lq_H(d, lam, a, b, 0.0, rng)
    inst = _instance(H, (d, d), {"offset": 0.0, "box": 0.0, "init_scale": 1.0}, rng, kappa=kappa,
                     reference={"mu_closed_form": 1 + kappa / math.cosh(radius) ** 2, "L12": lam * a,
                                "L21": lam * b, "region": radius})
    cert = certify(inst.data, oracles.jacobian, np.zeros(2 * d), radius, interior=16,
                   rng=np.random.default_rng(int(rng.integers(2 ** 31 - 1))))
    w = cert.metric()
    u = _direction(2 * d, rng)
    scale = params["init_fraction"] * radius * math.sqrt(float(np.min(w))) / math.sqrt(float(np.sum(w * u * u)))
    inst.reference["x0"] = scale * u
    inst.reference["certificate"] = cert
    return inst
