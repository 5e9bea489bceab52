"""Jitted kernels of the policy-gradient family (Fatkhullin, Barakat, Kireeva, He, ICML 2023).

* :func:`rollout` samples one trajectory of length H from pi_theta into preallocated buffers.
* :func:`trajectory_estimates` turns one trajectory into the GPOMDP gradient g_G and the two terms of the
  policy Hessian-vector estimator B(tau, theta) v (spec section 2):

      psi_t = sum_{k=t}^{H-1} gamma_bar^k r_k                      (absolute discount: unbiased for grad J_H)
      g_G   = sum_t psi_t grad log pi(a_t|s_t)
      B v   = g_G <S, v> + sum_t psi_t hess log pi(a_t|s_t) v,     S = sum_t grad log pi(a_t|s_t)

  or, with ``hvp_mode = CAUSAL``, the cross term sum_t gamma_bar^t r_t c_t <c_t, v> with the cumulative
  scores c_t = sum_{k<=t} grad log pi(a_k|s_k) (same mean, dropped terms have zero conditional mean).
* :func:`pg_kernel` runs one of the five methods (``method``) for a trajectory budget;
  :func:`estimator_kernel` draws many independent per-trajectory estimates at a fixed theta (the
  Monte-Carlo tests and the sampling benchmark).

Every buffer is allocated once before the loops; rows are recorded at ``due(t, record_every)``; a
non-finite or huge iterate/direction stops the run with its status and iteration, and so does a step out of
the admissible set (an LQR gain that no longer stabilises: J = -infinity there).
"""
import numpy as np
from numba import boolean, float64, int64, njit

from ..kernels.recording import (STATUS_BUDGET, STATUS_DIVERGED, due, health)
from ..kernels.stable import norm2
from .oracles import (ActType, AdmissibleType, ExactGradType, ExactHvpType, HessType, ResetType,
                      ScoreType, StepType)

VANILLA_PG = 0  # theta += gamma_t g,                     gamma_t = gamma0 (2/(t+2))^(2/3)
NSGDM = 1  # d = (1-eta_t) d + eta_t g, normalized step,    gamma_t = gamma0 2/(t+2), eta_t = eta0 (2/(t+2))^(2/3)
N_PG_IGT = 2  # g at theta + (1-eta_t)/eta_t (theta - theta_prev), gamma_t = gamma0 2/(t+2), eta_t ~ t^(-4/5)
N_HARPG = 3  # d = (1-eta_t)(d + B v) + eta_t g, normalized, gamma_t = gamma0 2/(t+2), eta_t = eta0 2/(t+2)
HARPG = 4  # as N_HARPG, un-normalized step gamma_t = gamma0 (2/(t+2))^(1/2)

HVP_NONE = 0
HVP_FULL = 1
HVP_CAUSAL = 2

COLUMNS = ("iteration", "trajectories", "env_steps", "hvps", "guard_hits", "direction_norm")

_vec = float64[::1]
_mat = float64[:, ::1]


@njit(int64(ResetType, ActType, StepType, _vec, _vec, int64, _mat, _mat, _vec), cache=True)
def rollout(reset, act, step, theta, data, horizon, states, actions, rewards):
    """Sample s_0, a_0, r_0, ..., s_{H-1}, a_{H-1}, r_{H-1} from pi_theta; return H (steps taken)."""
    reset(data, states[0])
    for h in range(horizon):
        act(theta, states[h], data, actions[h])
        rewards[h] = step(states[h], actions[h], data, states[h + 1])
    return horizon


_TRAJECTORY_ESTIMATES_SIG = int64(ResetType, ActType, StepType, ScoreType, HessType, _vec, _vec, _vec, int64, boolean, int64,
                                  float64, _mat, _mat, _vec, _vec, _vec, _vec, _vec, _vec)


@njit(_TRAJECTORY_ESTIMATES_SIG, cache=True)
def trajectory_estimates(reset, act, step, score_add, hess_add, data, theta, v, hvp_mode, reinforce, horizon,
                         discount, states, actions, rewards, psi, cumulative, g_out, cross_out, hterm_out):
    """Sample one trajectory at theta; write the gradient estimate into g_out and, unless hvp_mode =
    HVP_NONE, the cross term and the Hessian term of B(tau, theta) v into cross_out and hterm_out
    (B v = cross + hterm).

    The weights psi_t are GPOMDP's reward-to-go sum_{k>=t} gamma_bar^k r_k, or with ``reinforce`` the whole
    discounted return R(tau) for every t (REINFORCE: g_R = R(tau) S(tau, theta)); both are unbiased for
    grad J_H, and B v built on either is unbiased for hess J_H v.
    Returns the number of environment steps sampled. ``psi`` (H) and ``cumulative`` (d) are scratch.
    """
    rollout(reset, act, step, theta, data, horizon, states, actions, rewards)
    # psi_h = gamma_bar^h G_h with the relative reward-to-go G_h = r_h + gamma_bar G_{h+1} (backward pass),
    # then the absolute discount gamma_bar^h applied forwards. (Starting from gamma_bar^(H-1) and dividing
    # back down underflows to 0 for small gamma_bar and long H -- e.g. 0.2^499 -- and then zeroes every psi;
    # with gamma_bar = 0 it gave psi_0 = 0 instead of r_0.)
    acc = 0.0
    for h in range(horizon - 1, -1, -1):
        acc = rewards[h] + discount * acc
        psi[h] = acc
    weight = 1.0
    for h in range(horizon):
        psi[h] *= weight
        weight *= discount
    if reinforce:
        for h in range(1, horizon):
            psi[h] = psi[0]
    g_out[:] = 0.0
    if hvp_mode == HVP_NONE:
        for h in range(horizon):
            score_add(theta, states[h], actions[h], data, psi[h], g_out)
        return horizon
    cross_out[:] = 0.0
    hterm_out[:] = 0.0
    cumulative[:] = 0.0
    discount_h = 1.0
    for h in range(horizon):
        score_add(theta, states[h], actions[h], data, psi[h], g_out)
        score_add(theta, states[h], actions[h], data, 1.0, cumulative)
        hess_add(theta, states[h], actions[h], v, data, psi[h], hterm_out)
        if hvp_mode == HVP_CAUSAL:
            cv = 0.0
            for i in range(v.shape[0]):
                cv += cumulative[i] * v[i]
            coef = discount_h * rewards[h] * cv
            for i in range(v.shape[0]):
                cross_out[i] += coef * cumulative[i]
        discount_h *= discount
    if hvp_mode == HVP_FULL:
        sv = 0.0
        for i in range(v.shape[0]):
            sv += cumulative[i] * v[i]
        for i in range(v.shape[0]):
            cross_out[i] = g_out[i] * sv
    return horizon


_ESTIMATOR_KERNEL_SIG = int64(ResetType, ActType, StepType, ScoreType, HessType, _vec, _vec, _vec, int64, boolean, int64, _mat,
                              _mat, _mat)


@njit(_ESTIMATOR_KERNEL_SIG, cache=True)
def estimator_kernel(reset, act, step, score_add, hess_add, data, theta, v, hvp_mode, reinforce, seed, g_out,
                     cross_out, hterm_out):
    """Draw g_out.shape[0] independent trajectories at theta; row n of the outputs holds trajectory n's g_G,
    cross term and Hessian term of B v. Returns the number of environment steps sampled."""
    np.random.seed(seed)
    ds = int(data[1])
    da = int(data[2])
    d = int(data[3])
    horizon = int(data[5])
    discount = data[4]
    states = np.empty((horizon + 1, ds))
    actions = np.empty((horizon, da))
    rewards = np.empty(horizon)
    psi = np.empty(horizon)
    cumulative = np.empty(d)
    steps = 0
    for n in range(g_out.shape[0]):
        steps += trajectory_estimates(reset, act, step, score_add, hess_add, data, theta, v, hvp_mode,
                                      reinforce, horizon, discount, states, actions, rewards, psi, cumulative, g_out[n],
                                      cross_out[n], hterm_out[n])
    return steps


_PG_KERNEL_SIG = int64(int64, ResetType, ActType, StepType, ScoreType, HessType, AdmissibleType, ExactGradType,
                       ExactHvpType, _vec, _vec, float64, float64, int64, boolean, boolean, boolean, boolean, int64, int64,
                       int64, int64, _mat, _mat, _mat, _vec, int64[::1])


@njit(_PG_KERNEL_SIG, cache=True)
def pg_kernel(method, reset, act, step, score_add, hess_add, admissible, exact_grad, exact_hvp, data, theta0,
              gamma0, eta0, hvp_mode, reinforce, exact_oracles, guard, igt_eta_lag, max_iterations,
              max_trajectories,
              record_every, seed, records, path_theta, path_direction, theta, info):
    """Run ``method`` from theta_0 until ``max_iterations`` or ``max_trajectories``; return the rows written.

    Row k of ``records`` (COLUMNS), ``path_theta`` and ``path_direction`` describes iteration t: theta_t, the
    direction d_t computed at t, and the counters *before* iteration t (the samples that produced theta_t).
    A last row holds theta_T after the final step (direction NaN). ``info`` receives [rows, status,
    stop_iteration, iterations_done, trajectories, hvps, guard_hits].

    With ``guard``, a sampling point (IGT's extrapolated point, HARPG's line point) that ``admissible``
    rejects is replaced by theta_t and counted in guard_hits. With ``exact_oracles``, g := exact_grad and
    B v := exact_hvp (deterministic; the bandits only). ``reinforce`` swaps GPOMDP for REINFORCE weights
    (:func:`trajectory_estimates`). ``igt_eta_lag`` uses eta_{t-1} in IGT's
    extrapolation, as the authors' code does (no extrapolation at t <= 1 then).
    """
    np.random.seed(seed)
    ds = int(data[1])
    da = int(data[2])
    d = int(data[3])
    discount = data[4]
    horizon = int(data[5])
    states = np.empty((horizon + 1, ds))
    actions = np.empty((horizon, da))
    rewards = np.empty(horizon)
    psi = np.empty(horizon)
    cumulative = np.empty(d)
    scratch = np.empty(int(data[6]))
    theta_prev = np.empty(d)
    direction = np.zeros(d)
    g = np.empty(d)
    cross = np.empty(d)
    hterm = np.empty(d)
    hv = np.empty(d)
    move = np.empty(d)
    point = np.empty(d)
    theta[:] = theta0
    theta_prev[:] = theta0
    two_trajectories = method == N_HARPG or method == HARPG
    normalized = method == NSGDM or method == N_PG_IGT or method == N_HARPG
    trajectories = 0
    hvps = 0
    guard_hits = 0
    rows = 0
    status = STATUS_BUDGET
    stop_iteration = -1
    eta_previous = eta0
    t = 0
    while t < max_iterations:
        cost = 2 if (two_trajectories and t > 0) else 1
        if trajectories + cost > max_trajectories:
            break
        w = 2.0 / (t + 2.0)
        before = trajectories
        before_hvps = hvps
        # --- the direction d_t --------------------------------------------------------------------
        if method == N_PG_IGT:
            eta = eta0 * w ** 0.8
            eta_x = eta_previous if igt_eta_lag else eta
            if igt_eta_lag and t == 0:
                eta_x = 1.0
            for i in range(d):
                point[i] = theta[i] + (1.0 - eta_x) / eta_x * (theta[i] - theta_prev[i])
            if guard and admissible(point, data, scratch) < 0.5:
                point[:] = theta
                guard_hits += 1
            if exact_oracles:
                exact_grad(point, data, g)
            else:
                trajectory_estimates(reset, act, step, score_add, hess_add, data, point, move, HVP_NONE,
                                     reinforce, horizon, discount, states, actions, rewards, psi, cumulative, g,
                                     cross, hterm)
            trajectories += 1
            if t == 0:
                direction[:] = g
            else:
                for i in range(d):
                    direction[i] = (1.0 - eta) * direction[i] + eta * g[i]
            eta_previous = eta
        elif method == N_HARPG or method == HARPG:
            eta = eta0 * w
            if exact_oracles:
                exact_grad(theta, data, g)
            else:
                trajectory_estimates(reset, act, step, score_add, hess_add, data, theta, move, HVP_NONE,
                                     reinforce, horizon, discount, states, actions, rewards, psi, cumulative, g,
                                     cross, hterm)
            trajectories += 1
            if t == 0:
                direction[:] = g
            else:
                q = np.random.random()
                for i in range(d):
                    move[i] = theta[i] - theta_prev[i]
                    point[i] = q * theta[i] + (1.0 - q) * theta_prev[i]
                if guard and admissible(point, data, scratch) < 0.5:
                    point[:] = theta
                    guard_hits += 1
                if exact_oracles:
                    exact_hvp(point, move, data, hv)
                else:
                    trajectory_estimates(reset, act, step, score_add, hess_add, data, point, move, hvp_mode,
                                         reinforce, horizon, discount, states, actions, rewards, psi, cumulative,
                                         hv, cross, hterm)
                    for i in range(d):  # hv held tau_hat's own g_G (unused); now B(tau_hat, point) v
                        hv[i] = cross[i] + hterm[i]
                trajectories += 1
                hvps += 1
                for i in range(d):
                    direction[i] = (1.0 - eta) * (direction[i] + hv[i]) + eta * g[i]
        else:
            if exact_oracles:
                exact_grad(theta, data, g)
            else:
                trajectory_estimates(reset, act, step, score_add, hess_add, data, theta, move, HVP_NONE,
                                     reinforce, horizon, discount, states, actions, rewards, psi, cumulative, g,
                                     cross, hterm)
            trajectories += 1
            if method == NSGDM and t > 0:
                eta = eta0 * w ** (2.0 / 3.0)
                for i in range(d):
                    direction[i] = (1.0 - eta) * direction[i] + eta * g[i]
            else:
                direction[:] = g
        norm = norm2(direction)
        # --- record (theta_t, d_t, counters before t) ------------------------------------------------
        if due(t, record_every):
            row = records[rows]
            row[0] = t
            row[1] = before
            row[2] = before * horizon
            row[3] = before_hvps
            row[4] = guard_hits
            row[5] = norm
            path_theta[rows, :] = theta
            path_direction[rows, :] = direction
            rows += 1
        bad = health(direction)
        if bad != STATUS_BUDGET:
            status = bad
            stop_iteration = t
            break
        # --- the step --------------------------------------------------------------------------------
        if method == VANILLA_PG:
            gamma = gamma0 * w ** (2.0 / 3.0)
        elif method == HARPG:
            gamma = gamma0 * w ** 0.5
        else:
            gamma = gamma0 * w
        theta_prev[:] = theta
        if normalized:
            if norm > 0.0:  # a zero direction gives no step
                for i in range(d):
                    theta[i] += gamma * direction[i] / norm
        else:
            for i in range(d):
                theta[i] += gamma * direction[i]
        t += 1
        bad = health(theta)
        if bad != STATUS_BUDGET:
            status = bad
            stop_iteration = t
            break
        if admissible(theta, data, scratch) < 0.5:
            status = STATUS_DIVERGED  # left the stabilising set: J(theta) = -infinity
            stop_iteration = t
            break
    # final row: theta_T after the last step
    row = records[rows]
    row[0] = t
    row[1] = trajectories
    row[2] = trajectories * horizon
    row[3] = hvps
    row[4] = guard_hits
    row[5] = np.nan
    path_theta[rows, :] = theta
    path_direction[rows, :] = np.nan
    rows += 1
    info[0] = rows
    info[1] = status
    info[2] = stop_iteration
    info[3] = t
    info[4] = trajectories
    info[5] = hvps
    info[6] = guard_hits
    return rows
