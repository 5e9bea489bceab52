"""Consensus-based optimization: CBO (isotropic / anisotropic), consensus hopping, gradient baselines.

Papers: Pinnau, Totzeck, Tse, Martin (M3AS 2017) for CBO; Fornasier, Klock, Riedl, "Consensus-based
optimization methods converge globally" (SIAM J. Optim. 2024) and "Convergence of anisotropic
consensus-based optimization in mean-field law" (EvoApplications 2022) for the rate theorem; Riedl, Klock,
Geldhauser, Fornasier, "Gradient is All You Need?" (arXiv 2306.09778) for consensus hopping. Two regimes are
kept apart: the rate theorem (V decays at 2 lam - d sigma^2, resp. 2 lam - sigma^2, with fixed alpha) and
success rates (fraction of runs landing within a radius of x*, also outside the theorem's conditions).
This module holds metadata only; kernels load when a run needs them.
"""
from ..api import AlgorithmSpec, Catalog, Param, ProblemSpec
from .params import PROBLEM_PARAMS

FKR = ("Fornasier, Klock, Riedl, Consensus-based optimization methods converge globally (SIAM J. Optim. "
       "2024); anisotropic: Convergence of anisotropic CBO in mean-field law (EvoApplications 2022)")
GAYN = "Riedl, Klock, Geldhauser, Fornasier, Gradient is All You Need? (arXiv 2306.09778)"
_M = "optsandbox.consensus.algorithms"
_P = "optsandbox.consensus.problems"

_runs = Param("runs", 1, "independent runs advanced together (success rate over them)", minimum=1)
_radius = Param("success_radius", 0.25, "success: ||output - x*||_inf < radius (CBO convention)", minimum=0.0)

CBO_PARAMS = (
    Param("noise", "isotropic", "noise model", choices=("isotropic", "anisotropic")),
    Param("lam", 1.0, "drift strength lambda", minimum=0.0),
    Param("sigma", 0.32, "noise strength sigma", minimum=0.0),
    Param("dt", 0.01, "time step", minimum=0.0),
    Param("alpha", 1e15, "weight parameter alpha (initial value under a schedule)", minimum=0.0),
    Param("alpha_schedule", "none", "none: fixed alpha (the theorem); cbx_default: alpha <- min(1.05 alpha, "
          "1e5) every step, CBXpy's optimize()", choices=("none", "cbx_default")),
    Param("particles", 1000, "particles N per run", minimum=1),
    _runs,
    Param("output", "consensus", "what a run returns: the final consensus c_K (theory, MATLAB) or the best "
          "particle ever evaluated (CBXpy)", choices=("consensus", "best_particle")),
    Param("noise_point", "pre_drift", "noise amplitude at the pre-drift position (Euler-Maruyama, CBXpy) or "
          "post-drift (the authors' MATLAB)", choices=("pre_drift", "post_drift")),
    _radius,
    Param("tau", 0.0, "tau in (1 - tau)(2 lam - d sigma^2): the theorem's slack (0: mean-field ideal)",
          minimum=0.0),
)

CATALOG = Catalog(
    family="consensus",
    title="Consensus-based optimization (CBO), consensus hopping and gradient baselines",
    algorithms=(
        AlgorithmSpec(
            name="cbo", title="CBO (Euler-Maruyama; isotropic or anisotropic noise)", paper=FKR,
            update_rule="X^i <- X^i - lam dt (X^i - c_alpha) + sigma sqrt(dt) ||X^i - c_alpha|| xi^i (iso) | "
                        "sigma sqrt(dt) |X^i - c_alpha| (.) xi^i (aniso);  c_alpha = softmax(-alpha f(X)) X",
            proven_rate="V(t) <= V(0) exp(-(1 - tau)(2 lam - d sigma^2) t) (iso), 2 lam - sigma^2 (aniso)",
            oracles=("f_evals",), params=CBO_PARAMS, entry=f"{_M}:run_cbo"),
        AlgorithmSpec(
            name="consensus_hopping", title="Consensus hopping (CH)", paper=GAYN,
            update_rule="x_{k+1} = c_alpha({Y^i}),  Y^i ~ N(x_k, sigma^2 I), i = 1..N",
            proven_rate="N -> inf on (1/2) x^T A x: x_{k+1} = (I + alpha sigma^2 A)^{-1} x_k (prox step); "
                        "Monte-Carlo gap O(N^{-1/2})",
            oracles=("f_evals",),
            params=(Param("particles", 200, "samples N per step", minimum=1),
                    Param("sigma", 0.7, "sampling width sigma", minimum=0.0),
                    Param("alpha", 100.0, "weight parameter alpha", minimum=0.0),
                    Param("sigma_factor", 0.98, "sigma <- sigma_factor sigma every sigma_every steps",
                          minimum=0.0),
                    Param("sigma_every", 0, "period of the sigma schedule (0: fixed sigma)", minimum=0),
                    _runs, _radius),
            entry=f"{_M}:run_consensus_hopping"),
        AlgorithmSpec(
            name="gradient_descent", title="Gradient descent (analytic gradient)",
            paper="baseline (GAYN 6.3)",
            update_rule="x <- x - eta grad f(x)", proven_rate="local linear convergence to the nearest "
            "stationary point; no global guarantee on nonconvex f", oracles=("grad_evals",),
            params=(Param("lr", 0.001, "step size eta", minimum=0.0), _runs, _radius),
            entry=f"{_M}:run_gradient_descent", baseline=True),
        AlgorithmSpec(
            name="annealed_langevin", title="Annealed Langevin dynamics", paper="baseline (GAYN 6.3)",
            update_rule="x_{k+1} = x_k - eta grad f(x_k) + (sigma_L / log(k + 1)) sqrt(eta) xi_k, k >= 1",
            proven_rate="none stated (logarithmic cooling)", oracles=("grad_evals",),
            params=(Param("lr", 0.001, "step size eta", minimum=0.0),
                    Param("temperature", 10.0, "sigma_L", minimum=0.0), _runs, _radius),
            entry=f"{_M}:run_annealed_langevin", baseline=True),
    ),
    problems=(
        ProblemSpec("rastrigin", "Rastrigin A d + sum [z^2 - A cos 2 pi z] + c (CBXpy's), z = x - b",
                    "x* = b, f* = c in closed form (each summand >= -A, equality iff z_i = 0)",
                    PROBLEM_PARAMS["rastrigin"], f"{_P}:build_rastrigin"),
        ProblemSpec("rastrigin_riedl",
                    "Riedl's Rastrigin ||z||^2 + 2.5 sum (1 - cos 2 pi z) (FKR experiments)",
                    "x* = b, f* = 0 in closed form; nearest local minima have value ~0.98",
                    PROBLEM_PARAMS["rastrigin_riedl"], f"{_P}:build_rastrigin_riedl"),
        ProblemSpec("ackley", "Ackley function, shifted", "x* = b, f* = 0 in closed form",
                    PROBLEM_PARAMS["ackley"], f"{_P}:build_ackley"),
        ProblemSpec("quadratic", "Quadratic (1/2) sum a_i z_i^2, a_i log-spaced",
                    "x* = b, f* = 0; consensus-hopping limit (I + alpha sigma^2 A)^{-1} in closed form",
                    PROBLEM_PARAMS["quadratic"], f"{_P}:build_quadratic"),
    ),
    axes={"iteration": "iteration", "time": "time t = k dt", "f_evals": "function evaluations per run",
          "grad_evals": "gradient evaluations per run", "dim": "dimension d", "particles": "particles N"},
    benchmarks="optsandbox.consensus.bench:cases",
    cli="optsandbox.consensus.cli:register",
)
