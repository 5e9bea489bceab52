"""The Small-Gain Nash (SGN) certificate: margin, best block weights, band, beta, safe steps.

Sharma, "Small-Gain Nash: Certified Contraction to Nash Equilibria in Differentiable Games",
arXiv 2512.06791 (2025); constants and formulas as in the family spec (shared/algorithms/games.md, sections
2-4). Plain NumPy/SciPy: certification is offline analysis of a game, not a hot loop.

Given per-player curvature mu_i <= inf_R lambda_min(sym dF_i/dx_i) and couplings L_ij >= sup_R ||dF_i/dx_j||
on a region R, and block weights w > 0 (metric M = blockdiag(w_i I)):

* SGN matrix C(w)_ii = 2 w_i mu_i, C(w)_ij = -(w_i L_ij + w_j L_ji); margin alpha_*(w) = 1/2 lambda_min(
  W^{-1/2} C(w) W^{-1/2}). alpha_* > 0 makes F alpha_*-strongly monotone in ||.||_M on R.
* With K_alpha = diag(mu - alpha) - Ltilde (a Z-matrix), C(w) - 2 alpha W = W K_alpha + K_alpha^T W, so some
  w certifies alpha iff K_alpha is a nonsingular M-matrix iff rho(diag(mu - alpha)^{-1} Ltilde) < 1
  (alpha < min mu). Hence alpha_max = sup_w alpha_*(w) is found by bisection on alpha (the Perron root is
  increasing in alpha), and w_i = p_i / q_i with K q = 1, K^T p = 1 at alpha slightly below alpha_max
  attains it to within that gap. For N = 2: alpha_max = ((mu_1 + mu_2) - sqrt((mu_1 - mu_2)^2 +
  4 L_12 L_21)) / 2 at r* = w_2 / w_1 = L_12 / L_21.
* Band (N = 2): the ratios r with alpha_*(r) >= alpha are [r_-, r_+], r_pm = (2P - L12 L21 pm
  2 sqrt(P (P - L12 L21))) / L21^2, P = (mu_1 - alpha)(mu_2 - alpha).
* beta = Lipschitz constant of F in ||.||_M: ||M^{1/2} dF M^{-1/2}||_2 (exact for linear F, max over the
  samples otherwise). Projected Euler contracts in ||.||_M by sqrt(1 - 2 h alpha + h^2 beta^2) < 1 for
  0 < h < 2 alpha / beta^2; RK4 guideline h <= 2.5 / beta (a guideline from the authors' code, not a
  theorem); for linear unconstrained games the certified RK4 step is the largest h with
  ||M^{1/2} R_4(-h H) M^{-1/2}||_2 < 1.

Settled [uncertain] items:

* RK4 (spec 11.1): we certify RK4 only where we can prove it -- linear unconstrained games, through the
  exact M-norm of the RK4 amplification matrix -- and print 2.5/beta labelled "guideline".
* N-player statement (spec 11.2): the M-matrix / Perron reconstruction above; tests check it against the
  N = 2 closed form and against a brute-force weight search.
* Region (spec 11.3): for non-quadratic games the constants hold on the sampled box only; the certificate
  carries ``rigorous = False`` (vertex + interior sampling can miss the extreme Jacobian), and the run
  wrappers only claim the theorem when the initial M-ball {||x - x*||_M <= ||x_0 - x*||_M} lies inside the
  box (then contraction keeps every iterate in the region: forward invariance by construction).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

RK4_GUIDELINE = 2.5  # C_4 of the authors' code: h <= C_4 / beta, a stability guideline
RK4_REAL_AXIS = 2.785293563405282  # |R_4(-z)| < 1 for z in (0, this) on the real axis (classical)


# ---------------------------------------------------------------------------------------------------
# Margin, weights, band (from mu and L only)


def coupling(L: np.ndarray) -> np.ndarray:
    """Return L with its diagonal zeroed (Ltilde), as float."""
    Lt = np.array(L, dtype=float)
    np.fill_diagonal(Lt, 0.0)
    return Lt


def sgn_matrix(mu, L, w) -> np.ndarray:
    """Return C(w): C_ii = 2 w_i mu_i, C_ij = -(w_i L_ij + w_j L_ji)."""
    mu, w = np.asarray(mu, float), np.asarray(w, float)
    WL = w[:, None] * coupling(L)
    return np.diag(2.0 * w * mu) - (WL + WL.T)


def margin(mu, L, w) -> float:
    """Return alpha_*(w) = 1/2 lambda_min(W^{-1/2} C(w) W^{-1/2})."""
    s = 1.0 / np.sqrt(np.asarray(w, float))
    C = sgn_matrix(mu, L, w) * s[:, None] * s[None, :]
    return 0.5 * float(np.linalg.eigvalsh(0.5 * (C + C.T))[0])


def spectral_radius(A: np.ndarray) -> float:
    """Return max |eigenvalue| (the Perron root for a nonnegative matrix)."""
    return float(np.max(np.abs(np.linalg.eigvals(A)))) if A.size else 0.0


def small_gain_ratio(mu, L, alpha: float = 0.0) -> float:
    """Return rho(diag(mu - alpha)^{-1} Ltilde); inf when some mu_i <= alpha."""
    d = np.asarray(mu, float) - alpha
    if np.any(d <= 0):
        return math.inf
    return spectral_radius(coupling(L) / d[:, None])


def is_m_matrix(mu, L) -> bool:
    """Return True when K = diag(mu) - Ltilde is a nonsingular M-matrix (some w > 0 gives alpha_* > 0)."""
    return small_gain_ratio(mu, L) < 1.0


def best_margin_two(mu, L) -> float:
    """Return the N = 2 closed form alpha_max = ((mu1 + mu2) - sqrt((mu1 - mu2)^2 + 4 L12 L21)) / 2."""
    m1, m2 = float(mu[0]), float(mu[1])
    return 0.5 * ((m1 + m2) - math.sqrt((m1 - m2) ** 2 + 4.0 * L[0][1] * L[1][0]))


def best_margin(mu, L, rtol: float = 1e-14) -> float:
    """Return alpha_max = sup{alpha < min mu : rho(diag(mu - alpha)^{-1} Ltilde) < 1} by bisection."""
    mu = np.asarray(mu, float)
    Lt = coupling(L)
    hi = float(mu.min())
    if not Lt.any():
        return hi
    # At alpha = min mu - (max row sum + 1) every row sum of diag(mu - alpha)^{-1} Ltilde is < 1.
    lo = hi - float(Lt.sum(axis=1).max()) - 1.0
    scale = max(abs(lo), abs(hi), 1.0)
    while hi - lo > rtol * scale:
        mid = 0.5 * (lo + hi)
        if small_gain_ratio(mu, Lt, mid) < 1.0:
            lo = mid
        else:
            hi = mid
    return lo


def perron_weights(mu, L, alpha: float) -> np.ndarray:
    """Return w = p / q (K q = 1, K^T p = 1, K = diag(mu - alpha) - Ltilde), normalized to w_N = 1.

    For alpha < alpha_max, K is a nonsingular M-matrix, q, p > 0, and W K + K^T W is positive definite,
    so alpha_*(w) > alpha.
    """
    mu = np.asarray(mu, float)
    K = np.diag(mu - alpha) - coupling(L)
    one = np.ones(len(mu))
    q = np.linalg.solve(K, one)
    p = np.linalg.solve(K.T, one)
    w = p / q
    return w / w[-1]


def optimal_weights(mu, L) -> tuple[np.ndarray, float]:
    """Return (weights attaining alpha_max, alpha_max); closed form for two players, Perron otherwise."""
    mu = np.asarray(mu, float)
    if len(mu) == 1:
        return np.ones(1), float(mu[0])
    if len(mu) == 2 and L[0][1] > 0 and L[1][0] > 0:
        return np.array([L[1][0] / L[0][1], 1.0]), best_margin_two(mu, L)  # r* = w2/w1 = L12/L21
    alpha_max = best_margin(mu, L)
    gap = 1e-9 * (1.0 + abs(alpha_max))
    return perron_weights(mu, L, alpha_max - gap), alpha_max


def band(mu, L, alpha: float = 0.0) -> tuple[float, float] | None:
    """Return (r_-, r_+), the ratios r = w2/w1 with alpha_*(r) >= alpha (N = 2), or None if empty."""
    P = (mu[0] - alpha) * (mu[1] - alpha)
    g = L[0][1] * L[1][0]
    if mu[0] <= alpha or mu[1] <= alpha or P <= g:
        return None
    if L[1][0] == 0.0:
        return (L[0][1] ** 2 / (4 * P), math.inf)
    root = 2.0 * math.sqrt(P * (P - g))
    return ((2 * P - g - root) / L[1][0] ** 2, (2 * P - g + root) / L[1][0] ** 2)


# ---------------------------------------------------------------------------------------------------
# Metric quantities of a Jacobian


def expand(w, offsets) -> np.ndarray:
    """Return the per-coordinate weights of block weights w (the diagonal of M(w))."""
    return np.repeat(np.asarray(w, float), np.diff(offsets))


def weighted(J: np.ndarray, w, offsets) -> np.ndarray:
    """Return M^{1/2} J M^{-1/2}."""
    s = np.sqrt(expand(w, offsets))
    return J * s[:, None] / s[None, :]


def beta_of(J: np.ndarray, w, offsets) -> float:
    """Return ||M^{1/2} J M^{-1/2}||_2 (Lipschitz constant of x -> J x in ||.||_M)."""
    return float(np.linalg.norm(weighted(J, w, offsets), 2))


def alpha_true(J: np.ndarray, w, offsets) -> float:
    """Return lambda_min(sym(M^{1/2} J M^{-1/2})): the exact M-metric monotonicity modulus of J."""
    A = weighted(J, w, offsets)
    return float(np.linalg.eigvalsh(0.5 * (A + A.T))[0])


def euclidean_margin(J: np.ndarray) -> float:
    """Return Rosen's gamma = lambda_min(sym J)."""
    return float(np.linalg.eigvalsh(0.5 * (J + J.T))[0])


def block_constants(J: np.ndarray, offsets) -> tuple[np.ndarray, np.ndarray]:
    """Return (mu, L): mu_i = lambda_min(sym J_ii), L_ij = ||J_ij||_2 (L_ii = 0)."""
    n = len(offsets) - 1
    mu = np.empty(n)
    L = np.zeros((n, n))
    for i in range(n):
        a, b = offsets[i], offsets[i + 1]
        mu[i] = euclidean_margin(J[a:b, a:b])
        for j in range(n):
            if j != i:
                L[i, j] = np.linalg.norm(J[a:b, offsets[j]:offsets[j + 1]], 2)
    return mu, L


def rk4_matrix(A: np.ndarray, h: float) -> np.ndarray:
    """Return R_4(-h A) = I - hA + (hA)^2/2 - (hA)^3/6 + (hA)^4/24."""
    Z = -h * A
    eye = np.eye(A.shape[0])
    return eye + Z @ (eye + Z @ (eye / 2 + Z @ (eye / 6 + Z / 24)))


def _first_failure(ok, h_max: float, grid: int = 400) -> float:
    """Return the sup of [0, h) on which ok(h) holds from 0 on (grid scan, then bisection)."""
    hs = np.linspace(0.0, h_max, grid + 1)[1:]
    prev = 0.0
    for h in hs:
        if not ok(h):
            lo, hi = prev, h
            for _ in range(50):
                mid = 0.5 * (lo + hi)
                lo, hi = (mid, hi) if ok(mid) else (lo, mid)
            return lo
        prev = h
    return h_max


def euler_threshold(H: np.ndarray) -> float:
    """Return the true Euler stability threshold min_j 2 Re(l_j) / |l_j|^2 (0 if some Re l_j <= 0)."""
    lam = np.linalg.eigvals(H)
    if np.any(lam.real <= 0):
        return 0.0
    return float(np.min(2.0 * lam.real / np.abs(lam) ** 2))


def rk4_threshold(H: np.ndarray) -> float:
    """Return the largest h with rho(R_4(-h H)) < 1 on (0, h): min over eigenvalues of the ray crossing."""
    lam = np.linalg.eigvals(H)
    if np.any(lam.real <= 0):
        return 0.0

    def r4(z):
        return 1 + z + z * z / 2 + z ** 3 / 6 + z ** 4 / 24

    out = math.inf
    for l in lam:
        out = min(out, _first_failure(lambda h: abs(r4(-h * l)) < 1.0, 3.0 / abs(l), 600))
    return float(out)


def rk4_certified_step(H: np.ndarray, w, offsets) -> float:
    """Return the largest h (scan) with ||M^{1/2} R_4(-h H) M^{-1/2}||_2 < 1 on (0, h): certified RK4 step."""
    A = weighted(H, w, offsets)
    if alpha_true(H, w, offsets) <= 0:
        return 0.0
    top = 3.0 / max(float(np.max(np.abs(np.linalg.eigvals(H)))), 1e-300)
    return _first_failure(lambda h: np.linalg.norm(rk4_matrix(A, h), 2) < 1.0, top, 300)


# ---------------------------------------------------------------------------------------------------
# Sampling a region (general differentiable games)


def sample_points(center: np.ndarray, radius: float, interior: int, rng: np.random.Generator,
                  max_points: int = 4096) -> tuple[np.ndarray, str]:
    """Return (points, design) of the region ``center +- radius`` (a box).

    Design: the full grid {-1, 0, 1}^dim (vertices, edge and face midpoints, center) when 3^dim <=
    max_points, else the 2^dim vertices and the center when that fits, else random vertices; plus
    ``interior`` uniform interior points.
    """
    dim = center.size
    if 3 ** dim <= max_points:
        k = np.arange(3 ** dim)[:, None] // (3 ** np.arange(dim))[None, :]
        base, design = (k % 3) - 1.0, "grid3"
    elif 2 ** dim <= max_points:
        signs = ((np.arange(2 ** dim)[:, None] >> np.arange(dim)[None, :]) & 1) * 2.0 - 1.0
        base, design = np.vstack([signs, np.zeros((1, dim))]), "vertices"
    else:
        base, design = np.vstack([rng.choice([-1.0, 1.0], size=(max_points, dim)), np.zeros((1, dim))]), \
            "random vertices"
    inner = rng.uniform(-1.0, 1.0, size=(interior, dim))
    return center[None, :] + radius * np.vstack([base, inner]), design


@dataclass
class Certificate:
    """Everything the SGN pipeline outputs for one game (spec section 4, step 5)."""

    N: int
    offsets: np.ndarray
    mu: np.ndarray
    L: np.ndarray
    weights: np.ndarray
    weights_rule: str
    alpha_star: float  # alpha_*(w) with the chosen weights
    alpha_max: float  # sup over w (bisection / closed form)
    small_gain_ratio: float  # rho(diag(mu)^{-1} Ltilde): < 1 iff some weights certify
    beta: float  # Lipschitz constant of F in ||.||_M(w)
    euclid_margin: float  # Rosen's gamma_min
    euclid_lipschitz: float  # Euclidean Lipschitz constant L_F
    rigorous: bool
    region: str
    samples: int  # Jacobian evaluations used (jacobian_calls)
    linear: bool
    alpha_true: float = math.nan  # linear games: exact M-metric modulus (>= alpha_star)
    band: tuple | None = None
    euler_threshold: float = math.nan  # linear games: true Euler stability threshold
    rk4_threshold: float = math.nan  # linear games: true RK4 stability threshold
    rk4_certified: float = math.nan  # linear games: largest h with ||R_4||_M < 1
    notes: list = field(default_factory=list)
    base: np.ndarray | None = None  # per-coordinate base metric (None: identity); M = diag(base) W

    @property
    def certified(self) -> bool:
        return self.alpha_star > 0.0

    @property
    def euclid_certified(self) -> bool:
        return self.euclid_margin > 0.0

    @property
    def euler_step_max(self) -> float:
        """Return 2 alpha_* / beta^2 (0 when not certified)."""
        return 2.0 * self.alpha_star / self.beta ** 2 if self.certified else 0.0

    @property
    def euler_step_opt(self) -> float:
        return self.alpha_star / self.beta ** 2 if self.certified else 0.0

    @property
    def euler_factor_opt(self) -> float:
        """Return sqrt(1 - alpha^2 / beta^2), the certified factor per step at h = alpha / beta^2."""
        return math.sqrt(max(1.0 - (self.alpha_star / self.beta) ** 2, 0.0)) if self.certified else math.nan

    @property
    def rk4_guideline(self) -> float:
        return RK4_GUIDELINE / self.beta if self.certified else 0.0

    @property
    def euclid_step_max(self) -> float:
        return 2.0 * self.euclid_margin / self.euclid_lipschitz ** 2 if self.euclid_certified else 0.0

    def metric(self) -> np.ndarray:
        """Return the per-coordinate diagonal of M(w) (times the base metric, if any)."""
        w = expand(self.weights, self.offsets)
        return w if self.base is None else w * self.base

    def euler_factor(self, h: float) -> float:
        """Return sqrt(1 - 2 h alpha_* + h^2 beta^2), the certified per-step factor in ||.||_M."""
        return math.sqrt(max(1.0 - 2.0 * h * self.alpha_star + (h * self.beta) ** 2, 0.0))


def _choose_weights(mu, L, rule: str, beta_at, notes: list) -> tuple[np.ndarray, str]:
    w, _ = optimal_weights(mu, L)
    if rule == "margin" or len(mu) != 2:
        if rule != "margin":
            notes.append(f"weights = {rule!r} is available for two players only; used the margin-optimal ones")
        return w, "margin"
    b = band(mu, L, 0.0)
    if b is None:
        notes.append("no certified band: weights = 'euler' fell back to the margin-optimal ones")
        return w, "margin"
    from scipy.optimize import minimize_scalar

    lo, hi = math.log(b[0]), math.log(min(b[1], 1e12 * b[0]))

    def objective(log_r):
        wr = np.array([1.0, math.exp(log_r)])
        a = margin(mu, L, wr)
        return -a / beta_at(wr) ** 2

    res = minimize_scalar(objective, bounds=(lo, hi), method="bounded", options={"xatol": 1e-10})
    r = math.exp(res.x)
    w_e = np.array([1.0 / r, 1.0])
    if objective(math.log(r)) < objective(math.log(w[1] / w[0])):
        return w_e, "euler"
    return w, "margin"


def certify_jacobians(Js, offsets, weights: str = "margin", rigorous: bool = False, region: str = "",
                      linear: bool = False, notes: list | None = None, base=None) -> Certificate:
    """Return the certificate built from sampled Jacobians ``Js`` of the field the dynamics integrate.

    mu_i = min over samples of lambda_min(sym J_ii), L_ij = max ||J_ij||, beta = max ||M^{1/2} J M^{-1/2}||,
    gamma = min lambda_min(sym J), L_F = max ||J||. ``base`` (per-coordinate, default ones) records that
    the Jacobians were expressed in coordinates y = diag(base)^{1/2} x (e.g. the Fisher metric at x*):
    the certificate's metric on x is then diag(base) times the block weights.
    """
    notes = [] if notes is None else notes
    offsets = np.asarray(offsets)
    mus, Ls = zip(*(block_constants(J, offsets) for J in Js))
    mu = np.min(np.array(mus), axis=0)
    L = np.max(np.array(Ls), axis=0)

    def beta_at(w):
        return max(beta_of(J, w, offsets) for J in Js)

    w, rule = _choose_weights(mu, L, weights, beta_at, notes)
    n = len(offsets) - 1
    cert = Certificate(
        N=n, offsets=offsets, mu=mu, L=L, weights=w, weights_rule=rule, alpha_star=margin(mu, L, w),
        alpha_max=best_margin(mu, L), small_gain_ratio=small_gain_ratio(mu, L), beta=beta_at(w),
        euclid_margin=min(euclidean_margin(J) for J in Js),
        euclid_lipschitz=max(float(np.linalg.norm(J, 2)) for J in Js), rigorous=rigorous, region=region,
        samples=len(Js), linear=linear, notes=notes,
        base=np.ones(int(offsets[-1])) if base is None else np.asarray(base, float))
    if n == 2:
        cert.band = band(mu, L, 0.0)
    return cert


def certify(data: np.ndarray, jacobian=None, center=None, radius: float = 0.0, interior: int = 64,
            rng: np.random.Generator | None = None, weights: str = "margin", rk4: bool = True) -> Certificate:
    """Return the SGN certificate of the game in ``data`` (family layout).

    Linear games (kappa = 0): the Jacobian H is constant, the constants are exact and ``rigorous`` is True.
    Otherwise the Jacobian oracle is evaluated at the sample design of the box ``center +- radius``
    (vertices + center + ``interior`` random points): mu_i = min, L_ij = max, beta = max over samples of
    ||M^{1/2} J M^{-1/2}||, gamma = min of lambda_min(sym J), L_F = max ||J|| -- a heuristic certificate.
    ``weights``: "margin" (maximize alpha_*: closed form / Perron) or "euler" (N = 2: maximize
    alpha_* / beta^2 over the band, which widens the certified Euler step range).
    """
    from .oracles import unpack

    g = unpack(data)
    offsets = g["offsets"]
    notes: list = []
    linear = g["kappa"] == 0.0
    if linear:
        Js = [np.array(g["H"])]
        region = "global (constant Jacobian)"
        rigorous_grid = False
    else:
        if jacobian is None or center is None or radius <= 0:
            raise ValueError("a non-quadratic game needs the jacobian oracle, a center and a radius > 0")
        rng = rng if rng is not None else np.random.default_rng(0)
        pts, design = sample_points(np.asarray(center, float), radius, interior, rng)
        Js = []
        for p in pts:
            J = np.empty((g["dim"], g["dim"]))
            jacobian(np.ascontiguousarray(p), data, J)
            Js.append(J)
        region = f"box of radius {radius:g} around x*"
        # F = H x + c + kappa tanh(x): the Jacobian H + kappa diag(s), s_j = sech^2(x_j), is affine in s, and
        # s ranges over a box whose vertices (|x_j| in {0, radius}) are all points of the 3^dim grid. The
        # margins (lambda_min of symmetric parts: concave in s) and norms (convex in s) therefore take their
        # extreme values at grid points: the sampled constants are exact when the grid is complete.
        # (This needs 0 in every coordinate interval at a grid point, i.e. the box centred at 0.)
        rigorous_grid = design == "grid3" and not np.any(np.asarray(center, float))
        notes.append(f"constants from {len(pts)} Jacobians ({design} design + {interior} interior points)"
                     + ("; exact for the separable tanh nonlinearity" if rigorous_grid else "; heuristic"))
    cert = certify_jacobians(Js, offsets, weights=weights, rigorous=linear or rigorous_grid, region=region,
                             linear=linear, notes=notes)
    if linear:
        H = Js[0]
        w = cert.weights
        cert.alpha_true = alpha_true(H, w, offsets)
        cert.euler_threshold = euler_threshold(H)
        if rk4:
            cert.rk4_threshold = rk4_threshold(H)
        if rk4 and cert.alpha_true > 0 and H.shape[0] <= 256:
            cert.rk4_certified = rk4_certified_step(H, w, offsets)
    return cert
