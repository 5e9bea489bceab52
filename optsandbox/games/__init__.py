"""Games: the Small-Gain Nash (SGN) certificate and certified gradient dynamics for non-monotone games.

Paper: V. Sharma, "Small-Gain Nash: Certified Contraction to Nash Equilibria in Differentiable Games",
arXiv 2512.06791 (2025). From per-player curvature mu_i and cross couplings L_ij the certificate builds a
block-weighted metric M(w) in which the pseudo-gradient is strongly monotone (margin alpha_*) even when
the Euclidean (Rosen) condition fails; gradient play then contracts in ||.||_M for steps in
(0, 2 alpha_*/beta^2). The scenarios compare the measured contraction of ||x_k - x*||_M with the
certified rate. ``optsandbox certify GAME`` prints the certificate. Metadata only: kernels load when a
run needs them.
"""
from ..api import AlgorithmSpec, Catalog, Param, ProblemSpec

PAPER = "Sharma, Small-Gain Nash: Certified Contraction to Nash Equilibria in Differentiable Games " \
        "(arXiv 2512.06791, 2025)"
_A = "optsandbox.games.algorithms"
_P = "optsandbox.games.problems"

_h = Param("h", 0.0, "step size; 0 = step_fraction x the algorithm's certified step bound", minimum=0.0)
_frac = Param("step_fraction", 0.5, "step as a fraction of the certified bound (used when h = 0)", minimum=0.0)
_weights = Param("weights", "margin", "block weights: 'margin' (maximize alpha_*) or 'euler' (two players: "
                 "maximize alpha_*/beta^2, the widest certified Euler range)", choices=("margin", "euler"))

_COMMON = (Param("offset", 0.0, "||x*|| (0: x* = 0; else a random point of that norm)", minimum=0.0),
           Param("box", 0.0, "half-width of the box X = [-box, box]^dim (0: unconstrained); must exceed offset",
                 minimum=0.0),
           Param("init_scale", 1.0, "||x0 - x*|| (x0 on a random direction)", minimum=0.0))
_LQ = (Param("d", 8, "dimension of each player", minimum=1),
       Param("lam", 1.0, "coupling strength lambda", minimum=0.0),
       Param("a", 10.0, "coupling scale of player 1 (A12 = lam a R)", minimum=0.0),
       Param("b", 0.05, "coupling scale of player 2 (A21 = lam b R^T)", minimum=0.0))

CATALOG = Catalog(
    family="games",
    title="Small-Gain Nash: certified contraction of gradient dynamics in non-monotone games",
    algorithms=(
        AlgorithmSpec(
            name="sgn_euler", title="Simultaneous gradient play (projected Euler), SGN-certified", paper=PAPER,
            update_rule="x_{k+1} = Pi_X(x_k - h F(x_k)),  0 < h < 2 alpha_*(w) / beta(w)^2",
            proven_rate="||x_k - x*||_M <= (1 - 2 h alpha_* + h^2 beta^2)^{k/2} ||x_0 - x*||_M",
            oracles=("grad_calls",), params=(_h, _frac, _weights), entry=f"{_A}:run_sgn_euler"),
        AlgorithmSpec(
            name="sgn_flow", title="SGN flow x' = -F(x) (RK4 with a small dt)", paper=PAPER,
            update_rule="x' = -F(x);  RK4 step dt",
            proven_rate="||x(t) - x*||_M <= exp(-alpha_*(w) t) ||x(0) - x*||_M",
            oracles=("grad_calls",),
            params=(Param("dt", 0.0, "RK4 time step; 0 = 0.01 / L_F", minimum=0.0),
                    Param("band_edge", "none", "weights at an edge of the timescale band (two players)",
                          choices=("none", "low", "high")),
                    Param("edge_factor", 1.0, "multiply the band-edge ratio r = w2/w1 by this", minimum=0.0),
                    Param("start", "problem", "initial point: the problem's x0, or the least-monotone "
                          "direction of the metric at the same distance", choices=("problem", "worst"))),
            entry=f"{_A}:run_sgn_flow"),
        AlgorithmSpec(
            name="sgn_rk4", title="RK4 on the pseudo-gradient field (step guideline 2.5/beta)", paper=PAPER,
            update_rule="x_{k+1} = Pi_X(x_k + h (k1 + 2 k2 + 2 k3 + k4) / 6),  k1 = -F(x_k), ...",
            proven_rate="paper: guideline h <= 2.5/beta only; linear games: factor ||M^1/2 R4(-hH) M^-1/2||_2",
            oracles=("grad_calls",),
            params=(_h, Param("step_fraction", 0.5, "step as a fraction of the RK4 guideline 2.5/beta",
                              minimum=0.0), _weights),
            entry=f"{_A}:run_sgn_rk4"),
        AlgorithmSpec(
            name="euclid_gda", title="Gradient play with Rosen's Euclidean certificate",
            paper="Rosen, Existence and uniqueness of equilibrium points for concave n-person games "
                  "(Econometrica, 1965)",
            update_rule="x_{k+1} = Pi_X(x_k - h F(x_k)),  0 < h < 2 gamma / L_F^2, gamma = lambda_min(sym dF)",
            proven_rate="||x_k - x*|| <= (1 - 2 h gamma + h^2 L_F^2)^{k/2} ||x_0 - x*|| when gamma > 0",
            oracles=("grad_calls",), params=(_h, _frac), entry=f"{_A}:run_euclid_gda", baseline=True),
        AlgorithmSpec(
            name="ttur", title="Two-timescale gradient play (fixed step ratio)",
            paper="Heusel et al., GANs trained by a two time-scale update rule (NeurIPS 2017); SGN metric "
                  "analysis from " + PAPER,
            update_rule="x_{i,k+1} = Pi_i(x_{i,k} - h_i F_i(x_k)),  h_1 = h, h_i = h r (i >= 2)",
            proven_rate="||x_k - x*||_P <= (1 - 2 alpha_* h_min + beta_P^2)^{k/2} ||x_0 - x*||_P, P = D^-1 M",
            oracles=("grad_calls",),
            params=(_h, _frac, Param("timescale_ratio", 0.1, "r = h_i / h_1 for players i >= 2", minimum=0.0)),
            entry=f"{_A}:run_ttur", baseline=True),
        AlgorithmSpec(
            name="npg", title="Natural policy gradient (Fisher geometry) on the Markov game", paper=PAPER,
            update_rule="theta_{k+1} = theta_k - eta Fisher(theta_k)^-1 F(theta_k)  (both players)",
            proven_rate="||theta_k - theta*||_M <= (1 - 2 eta alpha_* + eta^2 beta^2)^{k/2} ||theta_0 - "
                        "theta*||_M, M = blockdiag(w_i Fisher_i(theta*)), 0 < eta < 2 alpha_*/beta^2",
            oracles=("grad_calls",),
            params=(Param("h", 0.0, "step eta; 0 = step_fraction x eta_max", minimum=0.0),
                    Param("step_fraction", 0.5, "eta as a fraction of eta_max = 2 alpha_*/beta^2", minimum=0.0)),
            entry=f"{_A}:run_npg"),
        AlgorithmSpec(
            name="epg", title="Euclidean policy gradient on the Markov game (same eta as NPG)",
            paper="Sutton, McAllester, Singh, Mansour, Policy gradient methods for RL with function "
                  "approximation (NeurIPS 2000); baseline of " + PAPER,
            update_rule="theta_{k+1} = theta_k - eta F(theta_k)",
            proven_rate="SGN on F in Euclidean logits: factor sqrt(1 - 2 eta alpha_* + eta^2 beta^2) when "
                        "eta < 2 alpha_*/beta^2",
            oracles=("grad_calls",),
            params=(Param("h", 0.0, "step eta; 0 = step_fraction x NPG's eta_max", minimum=0.0),
                    Param("step_fraction", 0.5, "eta as a fraction of NPG's eta_max", minimum=0.0)),
            entry=f"{_A}:run_epg", baseline=True),
    ),
    problems=(
        ProblemSpec("toy2d", "2-D toy game: Euclidean non-monotone, SGN-certified (spec 7.1)",
                    "H = [[mu1, a], [b, mu2]], x* known by construction; margins in closed form",
                    (Param("mu1", 1.0, "curvature of player 1", minimum=0.0),
                     Param("mu2", 1.0, "curvature of player 2", minimum=0.0),
                     Param("a", 10.0, "coupling of player 1 (dF1/dx2)"),
                     Param("b", 0.05, "coupling of player 2 (dF2/dx1)"),
                     Param("x0", [], "explicit initial point (two numbers); empty = random direction"))
                    + _COMMON, f"{_P}:build_toy2d"),
        ProblemSpec("lq", "Canonical two-player LQ game: Q_i = I, A12 = lam a R, A21 = lam b R^T (spec 7.2, 7.4)",
                    "x* by construction; alpha = 1 - lam sqrt(ab), beta = 1 + lam sqrt(ab), gamma = "
                    "1 - lam (a+b)/2 in closed form",
                    _LQ + (Param("mix", 0.0, "structured-noise mixing epsilon in [0, 1] (spec 7.4)",
                                 minimum=0.0),) + _COMMON, f"{_P}:build_lq"),
        ProblemSpec("lq_random", "Random two-player LQ game: Q_i = G_i^T G_i / d + I (spec 7.3)",
                    "x* by construction; L12 = lam a, L21 = lam b exactly; mu_i by eigvalsh",
                    _LQ + _COMMON, f"{_P}:build_lq_random"),
        ProblemSpec("nplayer", "N-player quadratic game with a prescribed small-gain ratio rho",
                    "x* by construction; mu_i and L_ij = ||A_ij|| exact, rho(diag(mu)^-1 L) = rho",
                    (Param("players", 4, "number of players N", minimum=2),
                     Param("d", 3, "dimension of each player", minimum=1),
                     Param("rho", 0.8, "small-gain ratio rho(diag(mu)^-1 L) (< 1: certifiable)", minimum=0.0),
                     Param("mu_min", 0.5, "smallest own curvature", minimum=0.0),
                     Param("mu_max", 2.0, "largest own curvature", minimum=0.0),
                     Param("asymmetry", 50.0, "ratio of the dominant to the reverse coupling of each pair",
                           minimum=1.0))
                    + _COMMON, f"{_P}:build_nplayer"),
        ProblemSpec("tanh_game", "Non-quadratic game F = H x + kappa tanh(x) (canonical LQ H), sampled certificate",
                    "x* = 0; on the box of radius `region`: mu_i = 1 + kappa sech^2(region), L12 = lam a, "
                    "L21 = lam b in closed form",
                    (Param("d", 2, "dimension of each player (the 3^(2d) sample grid must stay small)", minimum=1),
                     Param("lam", 1.0, "coupling strength", minimum=0.0),
                     Param("a", 10.0, "coupling scale of player 1", minimum=0.0),
                     Param("b", 0.05, "coupling scale of player 2", minimum=0.0),
                     Param("kappa", 0.5, "strength of the tanh term", minimum=0.0),
                     Param("region", 1.0, "half-width of the certified box around x*", minimum=0.0),
                     Param("init_fraction", 0.9, "||x0||_M as a fraction of region sqrt(min w)", minimum=0.0)),
                    f"{_P}:build_tanh_game"),
        ProblemSpec("markov", "Entropy-regularized 2-state, 2-action coordination Markov game, softmax "
                    "policies in reduced logits (spec 7.5)",
                    "theta* by scipy root-finding on an independent NumPy gradient (+ Nash check): the "
                    "uniform policies",
                    (Param("gamma", 0.9, "discount", minimum=0.0),
                     Param("tau", 1.0, "entropy weight", minimum=0.0),
                     Param("reward_scale", 1.0, "reward of matching actions (mismatch: minus it)"),
                     Param("region", 0.1, "half-width of the sampled cube around theta*", minimum=0.0),
                     Param("init_scale", 0.01, "theta_0 = theta* + N(0, init_scale^2 I)", minimum=0.0)),
                    "optsandbox.games.markov:build_markov"),
    ),
    axes={"iteration": "iteration", "grad_calls": "pseudo-gradient evaluations", "time": "flow time t",
          "dist_M": "||x - x*||_M", "dist_P": "||x - x*||_P (TTUR metric)", "dist_euclid": "||x - x*||_2",
          "lam": "coupling lambda", "step_fraction": "h / certified bound"},
    benchmarks="optsandbox.games.bench:cases",
    cli="optsandbox.games.cli:register",
)
