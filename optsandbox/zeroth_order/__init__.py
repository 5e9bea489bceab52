"""Zeroth-order optimization: ZO-RankSGD (ranking feedback) and FZooS (federated, surrogate gradients).

Papers: Z. Tang, D. Rybin, T.-H. Chang, "Zeroth-Order Optimization Meets Human Feedback: Provable Learning
via Ranking Oracles", ICLR 2024 (arXiv 2303.03751); Y. Shu, X. Lin, Z. Dai, B. K. H. Low, "Federated
Zeroth-Order Optimization using Trajectory-Informed Surrogate Gradients", arXiv 2308.04077. Their
baselines: two-point ZO-SGD, comparison-sign descent (SCOBO without sparsity), GLD, rank-weighted
recombination, the code's line-search variant; FedZO, FedProx-ZO, SCAFFOLD-ZO (types I and II). This module
holds metadata only; kernels load when a run needs them.
"""
from ..api import AlgorithmSpec, Catalog, Param, ProblemSpec

RANK_PAPER = "Tang, Rybin, Chang, Zeroth-Order Optimization Meets Human Feedback (ICLR 2024, arXiv 2303.03751)"
FZOOS_PAPER = "Shu, Lin, Dai, Low, Federated Zeroth-Order Optimization using Trajectory-Informed Surrogate " \
              "Gradients (arXiv 2308.04077)"
_R = "optsandbox.zeroth_order.rank_algorithms"
_F = "optsandbox.zeroth_order.fed_algorithms"
_P = "optsandbox.zeroth_order.problems"

_m = Param("m", 10, "points per iteration (ranking size; every method but the line-search variant spends m "
                    "evaluations per iteration)", minimum=2)
_k = Param("k", 10, "top-k returned by the ranking oracle (k = m: full ranking)", minimum=1)
_mu = Param("mu", 1e-4, "smoothing radius of the perturbations x + mu xi", minimum=0.0)
_eta0 = Param("eta0", 0.0, "step scale: eta = eta0/sqrt(T) (constant) or eta0/sqrt(t+1); 0 = the derived "
                           "optimum from L, f_0 - f*, c_2", minimum=0.0)
_schedule = Param("schedule", "constant", "step schedule", choices=("constant", "inv_sqrt"))
_horizon = Param("horizon", 0, "iterations T (0 = the scenario's run.iterations); sweep it for the T axis",
                 minimum=0)
_noise = Param("rank_noise", 0.0, "Thurstone ranking noise: rank f(y_i) + s N(0, 1)", minimum=0.0)
_flip = Param("flip_prob", 0.0, "ranking noise: swap each adjacent returned pair with this probability",
              minimum=0.0)

_rank_params = (_m, _k, _mu, _eta0, _schedule, _horizon, _noise, _flip,
                Param("code_weights", False, "use the public code's weights 2r - m (spec A.4) instead of the "
                                             "DAG weights 2r - (m - 1)"))

_dim = Param("dim", 20, "dimension d", minimum=1)
_radius = Param("init_radius", 0.0, "0: x_0 = x_c + N(0, I); > 0: x_0 at this distance from x_c", minimum=0.0)

# Federated parameters (spec B.4 project defaults).
_T = Param("local_steps", 10, "local steps T per round", minimum=1)
_eta = Param("eta", 0.02, "local step size eta", minimum=0.0)
_q = Param("q", 20, "directions per FedZO estimate (q + 1 queries per local step)", minimum=1)
_fmu = Param("mu", 0.01, "finite-difference radius of the FedZO estimate", minimum=0.0)
_scale = Param("fedzo_scale", "paper", "estimate scale: paper = d/q (unit directions), code = 1/q",
               choices=("paper", "code"))
_project = Param("project", True, "project local iterates onto [0, 1]^d")
_local_opt = Param("local_opt", "sgd", "local optimizer: sgd (plain step eta, the paper) or adam (lr eta, as the "
                                      "authors' code; moments reset every round)", choices=("sgd", "adam"))
_exact = Param("exact_gradients", False, "replace every zeroth-order estimate by the exact gradient "
                                         "(the first-order counterpart; queries are then not spent)")

_fzoos_params = (
    _T, _eta,
    Param("gamma", 1.0, "correction weight gamma (schedule const) or gamma_0 (inv_t: gamma_0/(t+1))",
          minimum=0.0),
    Param("gamma_schedule", "const", "gamma schedule", choices=("const", "inv_t")),
    Param("kernel", "se", "client GP kernel: se (the theory's) or matern52 (the authors' code)",
          choices=("se", "matern52")),
    Param("lengthscale", 0.5, "kernel lengthscale l of the client GP (inputs in [0, 1]^d)", minimum=0.0),
    Param("signal_var", 1.0, "kernel variance s^2 (y is standardized per fit)", minimum=0.0),
    Param("noise_var", 1e-6, "GP noise / jitter sigma_n^2 (relative to the standardized y)", minimum=0.0),
    Param("n_neighbors", 60, "GP fitted on this many nearest own queries (the code uses 150)", minimum=2),
    Param("n_init", 10, "initial queries per client in x_0 +- init_box", minimum=1),
    Param("init_box", 0.01, "half-width of the initial query box", minimum=0.0),
    Param("n_active", 2, "active queries per local step (max gradient-variance points; code: 5)", minimum=0),
    Param("active_candidates", 50, "uniform candidates in x +- active_box for the active queries", minimum=1),
    Param("active_box", 0.01, "half-width of the active-query box", minimum=0.0),
    Param("n_around", 10, "queries around the new global point before the RFF fit (code: 50)", minimum=0),
    Param("around_candidates", 100, "uniform candidates for those queries", minimum=1),
    Param("rff_features", 1000, "random Fourier features M (shared seed across clients)", minimum=1),
    Param("rff_lengthscale", 1.0, "RFF lengthscale (code: 1.0)", minimum=0.0),
    Param("rff_points", 200, "RFF weights fitted on this many nearest own queries (code: 500)", minimum=2),
    Param("rff_noise", 1e-4, "ridge sigma^2 of the RFF fit (relative to the standardized y)", minimum=0.0),
    Param("correction", "rff", "global-gradient correction: rff (FZooS), none, exact (grad F - grad f_i)",
          choices=("rff", "none", "exact")),
    _project, _exact, _local_opt,
)

_fedzo_params = (_T, _eta, _q, _fmu, _scale, _project, _exact, _local_opt)

CATALOG = Catalog(
    family="zeroth_order",
    title="Zeroth-order optimization: ranking feedback (ZO-RankSGD) and federated surrogates (FZooS)",
    algorithms=(
        AlgorithmSpec(
            name="zo_ranksgd", title="ZO-RankSGD (DAG estimator from an (m, k)-ranking oracle)",
            paper=RANK_PAPER,
            update_rule="g_t = (1/|E|) sum_i w_i xi_i,  w = 2r(i) - (m-1) (top-k) or k;  x_{t+1} = x_t - eta_t g_t",
            proven_rate="(1/T) sum E||grad f(x_t)|| <= sqrt(2 L c_2 (f_0 - f*) / T) / c_1 = O(sqrt(d/T)) "
                        "(derived descent bound)",
            oracles=("rank_calls", "points_ranked", "comparisons_revealed"), params=_rank_params,
            entry=f"{_R}:run_zo_ranksgd"),
        AlgorithmSpec(
            name="zo_rank_pairs", title="ZO-RankSGD with pairwise comparisons only (m/2 disjoint pairs)",
            paper=RANK_PAPER,
            update_rule="g_t = (2/m) sum_pairs (xi_worse - xi_better);  x_{t+1} = x_t - eta_t g_t",
            proven_rate="same bound with c_2 = (d-1) 4/m + q: about 3x the full-ranking variance",
            oracles=("rank_calls", "points_ranked", "comparisons_revealed"),
            params=(_m, _mu, _eta0, _schedule, _horizon, _noise), entry=f"{_R}:run_zo_rank_pairs",
            baseline=True),
        AlgorithmSpec(
            name="zo_ranksgd_line_search", title="ZO-RankSGD, practical line-search variant (public code)",
            paper=RANK_PAPER + ", code RankSGD",
            update_rule="gbar = mean of DAG estimates since the last move; x <- best of {x, best probe, "
                        "x - eta 2^-j gbar} by one (n_c, 1) ranking",
            proven_rate="none stated for the variant; f(x_t) is non-increasing",
            oracles=("rank_calls", "points_ranked"),
            params=(_m, _k, _mu, Param("eta", 1.0, "largest line-search step (in units of g, no mu factor)",
                                       minimum=0.0),
                    Param("n_line", 8, "points in the line-search ranking (x, the best probe, n_c - 2 steps)",
                          minimum=3),
                    _horizon, Param("code_weights", False, "the public code's weights 2r - m")),
            entry=f"{_R}:run_zo_ranksgd_line_search", baseline=True),
        AlgorithmSpec(
            name="rank_recombination", title="Rank-weighted recombination (authors' notebook heuristic)",
            paper=RANK_PAPER + ", notebook rank_opt/experiment.ipynb",
            update_rule="x <- sum_{r<k} (k - r) y_(r) / sum_{r<k} (k - r),  y_i = x + mu xi_i",
            proven_rate="none (heuristic baseline)", oracles=("rank_calls", "points_ranked"),
            params=(_m, _k, Param("mu", 0.1, "search radius of the sampled points", minimum=0.0), _horizon, _noise,
                    _flip),
            entry=f"{_R}:run_rank_recombination", baseline=True),
        AlgorithmSpec(
            name="zo_sgd", title="Two-point Gaussian ZO-SGD (function values)",
            paper="Nesterov & Spokoiny (2017); Ghadimi & Lan (2013)",
            update_rule="g = (1/q) sum_j (f(x + mu u_j) - f(x))/mu u_j, q = m - 1;  x <- x - eta g",
            proven_rate="min E||grad f||^2 = O(d L (f_0 - f*)/T) (constants uncertain)",
            oracles=("function_evals",),
            params=(_m, _mu, Param("eta", 0.0, "step; 0 = q/(4 (d + 4) L)", minimum=0.0), _horizon),
            entry=f"{_R}:run_zo_sgd", baseline=True),
        AlgorithmSpec(
            name="comparison_sign", title="Comparison-sign descent (SCOBO without sparsity)",
            paper="Cai, McKenzie, Yin, Zhang, SCOBO (2022)",
            update_rule="g = (1/q) sum_j sign(f(x + mu u_j) - f(x)) u_j;  x <- x - eta_t g",
            proven_rate="not checked here (baseline)",
            oracles=("rank_calls", "points_ranked"),
            params=(_m, _mu, Param("eta0", 1.0, "step scale (as ZO-RankSGD)", minimum=0.0), _schedule,
                    _horizon),
            entry=f"{_R}:run_comparison_sign", baseline=True),
        AlgorithmSpec(
            name="gld", title="Gradientless descent (GLD, geometric radii)",
            paper="Golovin, Karro, Kochanski, Lee, Song, Zhang, Gradientless Descent (ICLR 2020)",
            update_rule="x <- argmin over {x, x + v_j}, v_j uniform on the sphere of radius R 2^-j",
            proven_rate="not checked here (baseline)", oracles=("rank_calls", "points_ranked"),
            params=(_m, Param("radius", 1.0, "largest search radius R", minimum=0.0), _horizon),
            entry=f"{_R}:run_gld", baseline=True),
        AlgorithmSpec(
            name="fzoos", title="FZooS: federated ZO with trajectory-informed GP surrogate gradients",
            paper=FZOOS_PAPER,
            update_rule="x_{r,t} = x_{r,t-1} - eta (grad mu_i(x) + gamma (grad muhat_r(x) - grad muhat_r^(i)(x))); "
                        "x_{r+1} = mean_i x_{r,T}^(i)",
            proven_rate="Theorem 2 (rounds to eps), exact form uncertain: measured, compared by claims",
            oracles=("queries", "rounds", "floats_up", "floats_down"), params=_fzoos_params,
            entry=f"{_F}:run_fzoos"),
        AlgorithmSpec(
            name="fedzo", title="FedZO: local ZO-SGD steps, FedAvg", paper="Fang et al., FedZO (IEEE TSP 2022)",
            update_rule="x <- x - eta ghat_i(x), ghat_i = (d/q) sum_j (f_i(x + mu s_j) - f_i(x))/mu s_j; "
                        "x_{r+1} = mean_i x_i",
            proven_rate="O(sqrt(d/(H M T))) nonconvex (exact form uncertain)",
            oracles=("queries", "rounds", "floats_up", "floats_down"), params=_fedzo_params,
            entry=f"{_F}:run_fedzo", baseline=True),
        AlgorithmSpec(
            name="fedprox_zo", title="FedProx-ZO: FedZO with a proximal term",
            paper="Li et al., FedProx (2020), zeroth-order as in the FZooS code",
            update_rule="x <- x - eta (ghat_i(x) + mu_p (x - x_r))",
            proven_rate="not checked (baseline)", oracles=("queries", "rounds", "floats_up", "floats_down"),
            params=_fedzo_params + (Param("mu_prox", 1.0, "proximal weight mu_p", minimum=0.0),),
            entry=f"{_F}:run_fedprox_zo", baseline=True),
        AlgorithmSpec(
            name="scaffold_zo", title="SCAFFOLD-ZO (type I: fresh c_i; type II: trajectory c_i)",
            paper="Karimireddy et al., SCAFFOLD (2020), zeroth-order as in the FZooS code",
            update_rule="x <- x - eta (ghat_i(x) - c_i + c)",
            proven_rate="not checked (baseline)", oracles=("queries", "rounds", "floats_up", "floats_down"),
            params=_fedzo_params + (Param("variant", "II", "type I (c_i = ghat_i(x_r)) or II (c_i from the "
                                                           "previous trajectory)", choices=("I", "II")),),
            entry=f"{_F}:run_scaffold_zo", baseline=True),
    ),
    problems=(
        ProblemSpec("zo_quadratic", "f = 1/2 (x - x_c)^T diag(1..10) (x - x_c)", "x* = x_c, f* = 0, L = 10 "
                    "(closed form)", (_dim, _radius), f"{_P}:build_zo_quadratic"),
        ProblemSpec("zo_wave", "smooth nonconvex: zo_quadratic + beta sum (1 - cos(omega y_i))",
                    "f* = 0 at x_c (every term >= 0), L = 10 + beta omega^2 (closed form)",
                    (_dim, _radius, Param("beta", 1.0, "wave amplitude", minimum=0.0),
                     Param("omega", 2.0, "wave frequency", minimum=0.0)), f"{_P}:build_zo_wave"),
        ProblemSpec("zo_quadratic_lowrank", "f = x^T A x + b^T x, A = G G^T/d (rank d/2), b = A c",
                    "f* = -c^T A c/4, L = 2 lambda_max(A) (eigensolver)", (_dim,),
                    f"{_P}:build_zo_quadratic_lowrank"),
        ProblemSpec("rosenbrock", "Rosenbrock in d dimensions", "x* = 1, f* = 0; not globally smooth", (_dim,),
                    f"{_P}:build_rosenbrock"),
        ProblemSpec("fed_quadratic", "federated heterogeneous quadratics (FZooS synthetic)",
                    "x*, F* per coordinate in closed form from the averaged coefficients",
                    (Param("dim", 10, "dimension d", minimum=1), Param("clients", 5, "clients N", minimum=1),
                     Param("div", 0.5, "heterogeneity", minimum=0.0),
                     Param("target_gap", 1e-3, "F(x_r) - F* level of the *_to_target events", minimum=0.0)),
                    f"{_P}:build_fed_quadratic"),
        ProblemSpec("fed_levy", "federated heterogeneous Levy functions (nonconvex)",
                    "F separable: global optimum per coordinate by dense grid + bounded refinement",
                    (Param("dim", 10, "dimension d", minimum=1), Param("clients", 5, "clients N", minimum=1),
                     Param("div", 0.5, "heterogeneity", minimum=0.0),
                     Param("target_gap", 1e-2, "F(x_r) - F* level of the *_to_target events", minimum=0.0)),
                    f"{_P}:build_fed_levy"),
    ),
    axes={"iteration": "iteration (rounds for federated runs)", "rank_calls": "ranking-oracle calls",
          "points_ranked": "points ranked (= function evaluations)", "function_evals": "function evaluations",
          "queries": "function queries (all clients)", "round": "communication rounds",
          "floats": "floats communicated", "horizon": "iterations T", "dim": "dimension d"},
    benchmarks="optsandbox.zeroth_order.bench:cases",
)
