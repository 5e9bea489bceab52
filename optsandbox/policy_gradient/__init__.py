"""Policy gradient: N-PG-IGT and (N)-HARPG with their baselines, on synthetic MDPs with known optima.

Paper: I. Fatkhullin, A. Barakat, A. Kireeva, N. He, "Stochastic Policy Gradient Methods: Improved Sample
Complexity for Fisher-non-degenerate Policies", ICML 2023 (arXiv 2302.01734). The theorems bound
E[J* - J(theta_T)] by a power of the number of sampled trajectories, so the scenarios fit the log-log
slope of the exact suboptimality against ``trajectories``. Metadata only; kernels load when a run needs them.
"""
from ..api import AlgorithmSpec, Catalog, Param, ProblemSpec

PAPER = ("Fatkhullin, Barakat, Kireeva, He, Stochastic Policy Gradient Methods: Improved Sample Complexity "
         "for Fisher-non-degenerate Policies (ICML 2023, arXiv 2302.01734)")
_M = "optsandbox.policy_gradient.algorithms"
_P = "optsandbox.policy_gradient.problems"


def _gamma0(default):
    return Param("gamma0", default, "step-size scale gamma_0 (schedule in the update rule)", minimum=0.0)


_eta0 = Param("eta0", 1.0, "momentum scale eta_0, 0 < eta_0 <= 1", minimum=0.0)
_budget = Param("budget_unit", "trajectories", "read run.iterations as a trajectory budget (shared across "
                "methods) or as an iteration count", choices=("trajectories", "iterations"))
_regime = Param("regime", "paper", "which exponent rate = \"theory\" returns: the paper's bound or the "
                "PL-regime heuristic (derived, not a theorem)", choices=("paper", "pl-heuristic"))
_exact = Param("exact_oracles", False, "deterministic mode (bandits only): g := grad J, B v := hess J v")
_hvp = Param("hvp_estimator", "full", "policy Hessian-vector estimator: the paper's per-trajectory form "
             "or the causal lower-variance variant", choices=("full", "causal"))
_guard = Param("igt_guard", "fallback", "sample at theta_t when the extrapolated / line point is not "
               "admissible (LQR stability; sandbox addition, counted in guard_hits)",
               choices=("fallback", "none"))
_lag = Param("igt_eta_lag", False, "use eta_{t-1} in the IGT extrapolation, as the authors' code does")
_estimator = Param("estimator", "gpomdp", "gradient estimator: GPOMDP (reward-to-go weights, the paper's "
                   "default) or REINFORCE (whole return times the score sum); both unbiased for grad J_H",
                   choices=("gpomdp", "reinforce"))
_common = (_estimator, _budget, _regime, _exact)

CATALOG = Catalog(
    family="policy_gradient",
    title="Stochastic policy gradient: N-PG-IGT, (N)-HARPG and baselines on bandits, LQR and tabular MDPs",
    algorithms=(
        AlgorithmSpec(
            name="n_pg_igt", title="N-PG-IGT (normalized PG with implicit gradient transport)", paper=PAPER,
            update_rule="theta~ = theta_t + (1-eta_t)/eta_t (theta_t - theta_{t-1}); d_t = (1-eta_t) d_{t-1} + "
                        "eta_t g_G(tau ~ pi_theta~, theta~); theta_{t+1} = theta_t + gamma_t d_t/||d_t||; "
                        "eta_t = eta0 (2/(t+2))^{4/5}, gamma_t = gamma0 2/(t+2)",
            proven_rate="E[J* - J(theta_T)] = O(T^{-2/5}): O~(eps^-2.5) trajectories",
            oracles=("trajectories", "env_steps"),
            params=(_gamma0(0.5), _eta0, _guard, _lag) + _common, entry=f"{_M}:run_n_pg_igt"),
        AlgorithmSpec(
            name="n_harpg", title="N-HARPG (normalized Hessian-aided recursive PG)", paper=PAPER,
            update_rule="q ~ U[0,1], theta^ = q theta_t + (1-q) theta_{t-1}; d_t = (1-eta_t)(d_{t-1} + "
                        "B(tau^, theta^)(theta_t - theta_{t-1})) + eta_t g_G(tau, theta_t); theta_{t+1} = "
                        "theta_t + gamma_t d_t/||d_t||; eta_t = eta0 2/(t+2), gamma_t = gamma0 2/(t+2)",
            proven_rate="E[J* - J(theta_T)] = O(T^{-1/2}): O~(eps^-2) trajectories",
            oracles=("trajectories", "env_steps", "hvps"),
            params=(_gamma0(0.5), _eta0, _hvp, _guard) + _common, entry=f"{_M}:run_n_harpg"),
        AlgorithmSpec(
            name="harpg", title="HARPG (un-normalized Hessian-aided recursive PG)", paper=PAPER,
            update_rule="d_t as N-HARPG; theta_{t+1} = theta_t + gamma_t d_t, gamma_t = gamma0 (2/(t+2))^{1/2}",
            proven_rate="none stated (reported as outside theory)",
            oracles=("trajectories", "env_steps", "hvps"),
            params=(_gamma0(0.01), _eta0, _hvp, _guard) + _common, entry=f"{_M}:run_harpg"),
        AlgorithmSpec(
            name="vanilla_pg", title="Vanilla PG (GPOMDP, stochastic gradient ascent)",
            paper="Williams (1992); Baxter & Bartlett (2001); rate: Yuan, Gower, Lazaric et al. (AISTATS 2022)",
            update_rule="theta_{t+1} = theta_t + gamma_t g_G(tau_t, theta_t), gamma_t = gamma0 (2/(t+2))^{2/3}",
            proven_rate="E[J* - J(theta_T)] = O(T^{-1/3}): O~(eps^-3) trajectories",
            oracles=("trajectories", "env_steps"), params=(_gamma0(0.01),) + _common,
            entry=f"{_M}:run_vanilla_pg", baseline=True),
        AlgorithmSpec(
            name="nsgdm", title="NSGDM (normalized momentum PG)",
            paper="Cutkosky & Mehta (2020); as a PG baseline in " + PAPER,
            update_rule="d_t = (1-eta_t) d_{t-1} + eta_t g_G(tau_t, theta_t); theta_{t+1} = theta_t + gamma_t "
                        "d_t/||d_t||; gamma_t = gamma0 2/(t+2), eta_t = eta0 (2/(t+2))^{2/3}",
            proven_rate="O(T^{-1/3}) [derived heuristic]",
            oracles=("trajectories", "env_steps"), params=(_gamma0(0.5), _eta0) + _common,
            entry=f"{_M}:run_nsgdm", baseline=True),
    ),
    problems=(
        ProblemSpec("quadratic_bandit", "PG-1: quadratic linear-Gaussian contextual bandit (H = 1)",
                    "planted theta*; J* = -sigma^2; subopt = (theta-theta*)^T Sigma_s (theta-theta*) exactly",
                    (Param("d", 10, "context dimension", minimum=1),
                     Param("sigma", 0.5, "policy standard deviation", minimum=0.0),
                     Param("condition", 10.0, "condition number of Sigma_s (1: identity)", minimum=1.0)),
                    f"{_P}:build_quadratic_bandit"),
        ProblemSpec("kernel_bandit", "PG-2: bounded-kernel bandit, reward exp(-(a - theta*^T s)^2/(2c^2))",
                    "planted theta*; J = c/sqrt(c^2 + sigma^2 + D^2) in closed form",
                    (Param("d", 10, "context dimension", minimum=1),
                     Param("sigma", 0.5, "policy standard deviation", minimum=0.0),
                     Param("condition", 1.0, "condition number of Sigma_s (1: identity)", minimum=1.0),
                     Param("width", 1.0, "kernel width c", minimum=0.0),
                     Param("start_distance", 0.5, "Sigma-distance D_0 of theta_0 from theta*", minimum=0.0)),
                    f"{_P}:build_kernel_bandit"),
        ProblemSpec("lqr", "PG-3: discounted LQR with a linear-Gaussian policy u = K x + sigma xi",
                    "K* from the discounted Riccati equation (scipy); J by a Lyapunov solve",
                    (Param("instance", "default-2x1", "the spec's 2x1 system or a random one",
                           choices=("default-2x1", "random")),
                     Param("nx", 4, "state dimension (random instance)", minimum=1),
                     Param("nu", 2, "input dimension (random instance)", minimum=1),
                     Param("discount", 0.9, "discount gamma_bar", minimum=0.0),
                     Param("sigma", 0.3, "policy noise standard deviation", minimum=0.0),
                     Param("horizon", 150, "trajectory length H", minimum=1),
                     Param("control_cost", 0.1, "R = control_cost I", minimum=0.0),
                     Param("process_noise", 0.01, "W = process_noise I", minimum=0.0),
                     Param("start_distance", 0.0, "0: K_0 = 0; > 0: K_0 = K* + this distance in a random "
                           "stabilising direction (PL-regime checks near K*)", minimum=0.0)),
                    f"{_P}:build_lqr"),
        ProblemSpec("tabular", "PG-4: random tabular MDP with a softmax policy (teaching demo)",
                    "J* by policy iteration; J by a linear solve",
                    (Param("states", 10, "number of states", minimum=1),
                     Param("actions", 3, "number of actions", minimum=1),
                     Param("discount", 0.9, "discount gamma_bar", minimum=0.0),
                     Param("horizon", 100, "trajectory length H", minimum=1),
                     Param("reward_shift", 0.0, "subtracted from every reward r(s, a) ~ U[0, 1]: same gradient "
                           "and optimum, lower estimator variance when 0.5")),
                    f"{_P}:build_tabular"),
    ),
    axes={"iteration": "iteration", "trajectories": "trajectories sampled", "oracle_calls": "trajectories sampled",
          "env_steps": "environment steps", "hvps": "Hessian-vector products"},
    benchmarks="optsandbox.policy_gradient.bench:cases",
)
