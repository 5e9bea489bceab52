"""The family's data layout and environment/policy oracles (one signature set for every problem).

Data layout: ``data = [kind, ds, da, d, discount, horizon, scratch, sigma, body...]`` with

* ``kind`` -- QUADRATIC_BANDIT, KERNEL_BANDIT, LQR or TABULAR;
* ``ds``, ``da`` -- the length of a state row and of an action row (tabular indices are stored as floats);
* ``d`` -- the number of policy parameters; ``discount`` -- gamma_bar; ``horizon`` -- H;
* ``scratch`` -- the length of the scratch vector the kernel allocates once for :func:`*_admissible`;
* ``sigma`` -- the Gaussian policy's standard deviation (unused by the tabular softmax).

Body per kind (row-major matrices):

* bandits (PG-1, PG-2; H = 1): ``[c, L (d x d, Cholesky of Sigma_s), Sigma_s (d x d), theta* (d)]``;
  c is the kernel width of PG-2's reward exp(-(a - theta*^T s)^2 / (2 c^2)) (unused by PG-1, reward
  -(a - theta*^T s)^2);
* LQR (PG-3): ``[A (nx x nx), B (nx x nu), Q (nx x nx), R (nu x nu), sqrt diag W (nx), sqrt diag Sigma_0
  (nx)]``; the process and initial-state covariances are diagonal so that sampling needs no scratch;
  theta = vec(K) row-major, K of shape (nu, nx);
* tabular (PG-4): ``[nS, nA, cumulative P(.|s, a) (nS*nA*nS), r (nS*nA), cumulative rho (nS)]``;
  theta_{s,a} at index s*nA + a.

Oracle signatures (shared by every problem, so each kernel compiles once for the family):

* ``reset(data, state_out)`` -- draw s_0 ~ rho;
* ``act(theta, state, data, action_out)`` -- draw a ~ pi_theta(.|s);
* ``step(state, action, data, next_state_out) -> reward`` -- draw s' ~ P(.|s, a), return r(s, a);
* ``score_add(theta, state, action, data, weight, out)`` -- out += weight * grad log pi_theta(a|s);
* ``hess_add(theta, state, action, v, data, weight, out)`` -- out += weight * hess log pi_theta(a|s) v;
* ``admissible(theta, data, scratch) -> 1.0 | 0.0`` -- whether J(theta) is finite (LQR: the gain is
  stabilising with a margin, sqrt(gamma_bar) rho(A + BK) < 1 - 1e-3; always 1.0 elsewhere);
* ``exact_grad(theta, data, out)`` and ``exact_hvp(theta, v, data, out)`` -- the exact gradient and
  Hessian-vector product of J, for the bandits (closed forms); NaN elsewhere. They serve the deterministic
  ``exact_oracles`` mode, in which the kernels' recursions can be checked to rounding error.

All randomness uses numba's global generator, which the kernel seeds once at entry.
"""
import numpy as np
from numba import float64, njit, types, void

QUADRATIC_BANDIT = 0
KERNEL_BANDIT = 1
LQR = 2
TABULAR = 3
HEADER = 8

_vec = float64[::1]
RESET_SIG = void(_vec, _vec)
ACT_SIG = void(_vec, _vec, _vec, _vec)
STEP_SIG = float64(_vec, _vec, _vec, _vec)
SCORE_SIG = void(_vec, _vec, _vec, _vec, float64, _vec)
HESS_SIG = void(_vec, _vec, _vec, _vec, _vec, float64, _vec)
ADMISSIBLE_SIG = float64(_vec, _vec, _vec)
EXACT_GRAD_SIG = void(_vec, _vec, _vec)
EXACT_HVP_SIG = void(_vec, _vec, _vec, _vec)

ResetType = types.FunctionType(RESET_SIG)
ActType = types.FunctionType(ACT_SIG)
StepType = types.FunctionType(STEP_SIG)
ScoreType = types.FunctionType(SCORE_SIG)
HessType = types.FunctionType(HESS_SIG)
AdmissibleType = types.FunctionType(ADMISSIBLE_SIG)
ExactGradType = types.FunctionType(EXACT_GRAD_SIG)
ExactHvpType = types.FunctionType(EXACT_HVP_SIG)

ORACLE_NAMES = ("reset", "act", "step", "score_add", "hess_add", "admissible", "exact_grad", "exact_hvp")


def pack(kind: int, ds: int, da: int, d: int, discount: float, horizon: int, scratch: int, sigma: float,
         body) -> np.ndarray:
    """Return the flat data array of the family layout."""
    head = np.array([kind, ds, da, d, discount, horizon, max(scratch, 1), sigma], dtype=np.float64)
    return np.concatenate([head, np.asarray(body, dtype=np.float64).ravel()])


# ---------------------------------------------------------------------------------------------------
# Bandits (PG-1 quadratic reward, PG-2 bounded kernel reward): s ~ N(0, Sigma_s), a ~ N(theta^T s, sigma^2)


@njit(RESET_SIG, cache=True)
def bandit_reset(data, state_out):
    d = int(data[3])
    L = data[HEADER + 1:HEADER + 1 + d * d].reshape((d, d))
    for i in range(d):
        state_out[i] = np.random.standard_normal()
    # s = L z in place: row i uses z_0..z_i, so walk the rows downwards.
    for i in range(d - 1, -1, -1):
        acc = 0.0
        for j in range(i + 1):
            acc += L[i, j] * state_out[j]
        state_out[i] = acc


@njit(ACT_SIG, cache=True)
def bandit_act(theta, state, data, action_out):
    mean = 0.0
    for i in range(theta.shape[0]):
        mean += theta[i] * state[i]
    action_out[0] = mean + data[7] * np.random.standard_normal()


@njit(STEP_SIG, cache=True)
def bandit_step(state, action, data, next_state_out):
    d = int(data[3])
    star = data[HEADER + 1 + 2 * d * d:HEADER + 1 + 2 * d * d + d]
    target = 0.0
    for i in range(d):
        target += star[i] * state[i]
        next_state_out[i] = state[i]  # H = 1: the next state is never used
    e = action[0] - target
    if int(data[0]) == QUADRATIC_BANDIT:
        return -e * e
    c = data[HEADER]
    return np.exp(-e * e / (2.0 * c * c))


@njit(SCORE_SIG, cache=True)
def bandit_score_add(theta, state, action, data, weight, out):
    sigma = data[7]
    mean = 0.0
    for i in range(theta.shape[0]):
        mean += theta[i] * state[i]
    coef = weight * (action[0] - mean) / (sigma * sigma)
    for i in range(theta.shape[0]):
        out[i] += coef * state[i]


@njit(HESS_SIG, cache=True)
def bandit_hess_add(theta, state, action, v, data, weight, out):
    sigma = data[7]
    sv = 0.0
    for i in range(theta.shape[0]):
        sv += state[i] * v[i]
    coef = -weight * sv / (sigma * sigma)
    for i in range(theta.shape[0]):
        out[i] += coef * state[i]


@njit(ADMISSIBLE_SIG, cache=True)
def always_admissible(theta, data, scratch):
    return 1.0


@njit(EXACT_GRAD_SIG, cache=True)
def bandit_exact_grad(theta, data, out):
    """grad J = -2 Sigma (theta - theta*) (PG-1); -c q^{-3/2} Sigma (theta - theta*), q = c^2+sigma^2+D^2 (PG-2)."""
    d = int(data[3])
    S = data[HEADER + 1 + d * d:HEADER + 1 + 2 * d * d].reshape((d, d))
    star = data[HEADER + 1 + 2 * d * d:HEADER + 1 + 2 * d * d + d]
    D2 = 0.0
    for i in range(d):
        acc = 0.0
        for j in range(d):
            acc += S[i, j] * (theta[j] - star[j])
        out[i] = acc
        D2 += (theta[i] - star[i]) * acc
    if int(data[0]) == QUADRATIC_BANDIT:
        scale = -2.0
    else:
        c = data[HEADER]
        q = c * c + data[7] * data[7] + D2
        scale = -c * q ** -1.5
    for i in range(d):
        out[i] *= scale


@njit(EXACT_HVP_SIG, cache=True)
def bandit_exact_hvp(theta, v, data, out):
    """hess J v = -2 Sigma v (PG-1); -c q^{-3/2} Sigma v + 3 c q^{-5/2} Sigma delta (delta^T Sigma v) (PG-2)."""
    d = int(data[3])
    S = data[HEADER + 1 + d * d:HEADER + 1 + 2 * d * d].reshape((d, d))
    star = data[HEADER + 1 + 2 * d * d:HEADER + 1 + 2 * d * d + d]
    if int(data[0]) == QUADRATIC_BANDIT:
        for i in range(d):
            acc = 0.0
            for j in range(d):
                acc += S[i, j] * v[j]
            out[i] = -2.0 * acc
        return
    c = data[HEADER]
    D2 = 0.0
    dSv = 0.0
    for i in range(d):
        sd = 0.0
        sv = 0.0
        for j in range(d):
            sd += S[i, j] * (theta[j] - star[j])
            sv += S[i, j] * v[j]
        D2 += (theta[i] - star[i]) * sd
        dSv += (theta[i] - star[i]) * sv
    q = c * c + data[7] * data[7] + D2
    for i in range(d):
        sd = 0.0
        sv = 0.0
        for j in range(d):
            sd += S[i, j] * (theta[j] - star[j])
            sv += S[i, j] * v[j]
        out[i] = -c * q ** -1.5 * sv + 3.0 * c * q ** -2.5 * sd * dSv


@njit(EXACT_GRAD_SIG, cache=True)
def no_exact_grad(theta, data, out):
    out[:] = np.nan


@njit(EXACT_HVP_SIG, cache=True)
def no_exact_hvp(theta, v, data, out):
    out[:] = np.nan


# ---------------------------------------------------------------------------------------------------
# LQR (PG-3): x' = A x + B u + w, u = K x + sigma xi, r = -(x^T Q x + u^T R u)


@njit(RESET_SIG, cache=True)
def lqr_reset(data, state_out):
    nx = int(data[1])
    nu = int(data[2])
    off = HEADER + 2 * nx * nx + nx * nu + nu * nu + nx
    for i in range(nx):
        state_out[i] = data[off + i] * np.random.standard_normal()


@njit(ACT_SIG, cache=True)
def lqr_act(theta, state, data, action_out):
    nx = int(data[1])
    nu = int(data[2])
    sigma = data[7]
    for i in range(nu):
        acc = 0.0
        for j in range(nx):
            acc += theta[i * nx + j] * state[j]
        action_out[i] = acc + sigma * np.random.standard_normal()


@njit(STEP_SIG, cache=True)
def lqr_step(state, action, data, next_state_out):
    nx = int(data[1])
    nu = int(data[2])
    # flat indexing (no reshaped views): this is the innermost call of every rollout
    a_off = HEADER
    b_off = a_off + nx * nx
    q_off = b_off + nx * nu
    r_off = q_off + nx * nx
    w_off = r_off + nu * nu
    cost = 0.0
    for i in range(nx):
        acc = 0.0
        for j in range(nx):
            acc += data[q_off + i * nx + j] * state[j]
        cost += state[i] * acc
    for i in range(nu):
        acc = 0.0
        for j in range(nu):
            acc += data[r_off + i * nu + j] * action[j]
        cost += action[i] * acc
    for i in range(nx):
        acc = 0.0
        for j in range(nx):
            acc += data[a_off + i * nx + j] * state[j]
        for k in range(nu):
            acc += data[b_off + i * nu + k] * action[k]
        next_state_out[i] = acc + data[w_off + i] * np.random.standard_normal()
    return -cost


@njit(SCORE_SIG, cache=True)
def lqr_score_add(theta, state, action, data, weight, out):
    """out += weight (u - K x) x^T / sigma^2 (row-major vec of the (nu, nx) gradient)."""
    nx = int(data[1])
    nu = int(data[2])
    s2 = data[7] * data[7]
    for i in range(nu):
        acc = 0.0
        for j in range(nx):
            acc += theta[i * nx + j] * state[j]
        coef = weight * (action[i] - acc) / s2
        for j in range(nx):
            out[i * nx + j] += coef * state[j]


@njit(HESS_SIG, cache=True)
def lqr_hess_add(theta, state, action, v, data, weight, out):
    """out += weight * (-V x x^T / sigma^2), V the (nu, nx) direction v."""
    nx = int(data[1])
    nu = int(data[2])
    s2 = data[7] * data[7]
    for i in range(nu):
        acc = 0.0
        for j in range(nx):
            acc += v[i * nx + j] * state[j]
        coef = -weight * acc / s2
        for j in range(nx):
            out[i * nx + j] += coef * state[j]


@njit(ADMISSIBLE_SIG, cache=True)
def lqr_admissible(theta, data, scratch):
    """Return 1.0 when sqrt(gamma_bar) rho(A + B K) < 1 - 1e-3, else 0.0.

    rho is bounded from above by ||M^k||_F^{1/k} with k = 2^14 (repeated squaring, renormalized at every
    squaring so nothing overflows); the bound is within a factor (sqrt(nx) k)^{1/k} < 1.001 of rho, and it
    can only err on the safe side (call a stabilising gain with a margin below ~1e-3 inadmissible).
    ``scratch`` holds 2 nx^2 floats.
    """
    nx = int(data[1])
    nu = int(data[2])
    A = data[HEADER:HEADER + nx * nx].reshape((nx, nx))
    B = data[HEADER + nx * nx:HEADER + nx * nx + nx * nu].reshape((nx, nu))
    M = scratch[:nx * nx].reshape((nx, nx))
    T = scratch[nx * nx:2 * nx * nx].reshape((nx, nx))
    for i in range(nx):
        for j in range(nx):
            acc = A[i, j]
            for k in range(nu):
                acc += B[i, k] * theta[k * nx + j]
            M[i, j] = acc
    if not np.all(np.isfinite(M)):
        return 0.0
    squarings = 14
    log_norm = 0.0  # log ||M_0^(2^j)||, accumulated through the renormalizations
    for s in range(squarings + 1):
        nrm = 0.0
        for i in range(nx):
            for j in range(nx):
                nrm += M[i, j] * M[i, j]
        nrm = np.sqrt(nrm)
        if nrm == 0.0:
            return 1.0  # nilpotent: rho = 0
        for i in range(nx):
            for j in range(nx):
                M[i, j] /= nrm
        log_norm += np.log(nrm)
        if s == squarings:
            break
        for i in range(nx):
            for j in range(nx):
                acc = 0.0
                for k in range(nx):
                    acc += M[i, k] * M[k, j]
                T[i, j] = acc
        for i in range(nx):
            for j in range(nx):
                M[i, j] = T[i, j]
        log_norm *= 2.0
    log_rho = log_norm / 2.0 ** squarings
    return 1.0 if 0.5 * np.log(data[4]) + log_rho < np.log(1.0 - 1e-3) else 0.0


# ---------------------------------------------------------------------------------------------------
# Tabular MDP with a softmax policy (PG-4)


@njit(float64(_vec), cache=True)
def _categorical(cdf):
    """Return an index drawn from the cumulative distribution ``cdf`` (inverse-CDF sampling)."""
    u = np.random.random()
    n = cdf.shape[0]
    for k in range(n):
        if u < cdf[k]:
            return float(k)
    return float(n - 1)


@njit(RESET_SIG, cache=True)
def tabular_reset(data, state_out):
    nS = int(data[HEADER])
    nA = int(data[HEADER + 1])
    off = HEADER + 2 + nS * nA * nS + nS * nA
    state_out[0] = _categorical(data[off:off + nS])


@njit(types.UniTuple(float64, 2)(_vec, types.int64, types.int64), cache=True)
def _softmax_scale(theta, base, nA):
    """Return (m, z) of state block theta[base:base + nA]: pi_a = exp(theta_a - m) / z, never overflowing."""
    m = -np.inf
    for a in range(nA):
        if theta[base + a] > m:
            m = theta[base + a]
    z = 0.0
    for a in range(nA):
        z += np.exp(theta[base + a] - m)
    return m, z


@njit(ACT_SIG, cache=True)
def tabular_act(theta, state, data, action_out):
    nA = int(data[HEADER + 1])
    base = int(state[0]) * nA
    m, z = _softmax_scale(theta, base, nA)
    u = np.random.random() * z
    acc = 0.0
    for a in range(nA):
        acc += np.exp(theta[base + a] - m)
        if u < acc:
            action_out[0] = float(a)
            return
    action_out[0] = float(nA - 1)


@njit(STEP_SIG, cache=True)
def tabular_step(state, action, data, next_state_out):
    nS = int(data[HEADER])
    nA = int(data[HEADER + 1])
    s = int(state[0])
    a = int(action[0])
    off = HEADER + 2 + (s * nA + a) * nS
    next_state_out[0] = _categorical(data[off:off + nS])
    return data[HEADER + 2 + nS * nA * nS + s * nA + a]


@njit(SCORE_SIG, cache=True)
def tabular_score_add(theta, state, action, data, weight, out):
    """Block s of out += weight (e_a - pi(.|s))."""
    nA = int(data[HEADER + 1])
    base = int(state[0]) * nA
    a_taken = int(action[0])
    m, z = _softmax_scale(theta, base, nA)
    for a in range(nA):
        p = np.exp(theta[base + a] - m) / z
        out[base + a] += weight * ((1.0 if a == a_taken else 0.0) - p)


@njit(HESS_SIG, cache=True)
def tabular_hess_add(theta, state, action, v, data, weight, out):
    """Block s of out += -weight (pi_s * v_s - pi_s <pi_s, v_s>)."""
    nA = int(data[HEADER + 1])
    base = int(state[0]) * nA
    m, z = _softmax_scale(theta, base, nA)
    pv = 0.0
    for a in range(nA):
        pv += np.exp(theta[base + a] - m) / z * v[base + a]
    for a in range(nA):
        p = np.exp(theta[base + a] - m) / z
        out[base + a] -= weight * p * (v[base + a] - pv)


BANDIT_ORACLES = {"reset": bandit_reset, "act": bandit_act, "step": bandit_step,
                  "score_add": bandit_score_add, "hess_add": bandit_hess_add,
                  "admissible": always_admissible, "exact_grad": bandit_exact_grad,
                  "exact_hvp": bandit_exact_hvp}
LQR_ORACLES = {"reset": lqr_reset, "act": lqr_act, "step": lqr_step, "score_add": lqr_score_add,
               "hess_add": lqr_hess_add, "admissible": lqr_admissible, "exact_grad": no_exact_grad,
               "exact_hvp": no_exact_hvp}
TABULAR_ORACLES = {"reset": tabular_reset, "act": tabular_act, "step": tabular_step,
                   "score_add": tabular_score_add, "hess_add": tabular_hess_add,
                   "admissible": always_admissible, "exact_grad": no_exact_grad,
                   "exact_hvp": no_exact_hvp}
