"""Bilevel optimization: BO-REP, the Kwon et al. penalty methods, LV-HBA, with AID/SOBA and F2SA baselines.

Papers: Hao, Gong, Liu (BO-REP, ICLR 2024); Kwon, Kwon, Wright, Nowak (penalty methods, ICLR 2024; F2SA,
ICML 2023); Yao, Yu, Zeng, Zhang (LV-HBA, ICLR 2024); Dagreou et al. (SOBA, NeurIPS 2022). Problems have
exact hypergradients, so every metric is computed exactly from the recorded iterates. Metadata only here;
kernels load when a run needs them.
"""
from ..api import AlgorithmSpec, Catalog, Param, ProblemSpec

_A = "optsandbox.bilevel.algorithms"
_P = "optsandbox.bilevel.problems"
BOREP = "Hao, Gong, Liu, Bilevel Optimization under Unbounded Smoothness (ICLR 2024, arXiv 2401.09587)"
PENALTY = ("Kwon, Kwon, Wright, Nowak, On Penalty Methods for Nonconvex Bilevel Optimization and First-Order "
           "Stochastic Approximation (ICLR 2024, arXiv 2309.01753)")
LVHBA = ("Yao, Yu, Zeng, Zhang, Overcoming Lower-Level Constraints in Bilevel Optimization (LV-HBA, ICLR 2024, "
         "arXiv 2401.16164)")
F2SA = "Kwon, Kwon, Wright, Nowak, A Fully First-Order Method for Stochastic Bilevel Optimization (ICML 2023)"
SOBA = "Dagreou, Ablin, Vaiter, Moreau, A framework for bilevel optimization ... (SOBA, NeurIPS 2022)"

_SQ = "first-order oracles f_grad, g_grad; ll_hvp, ll_jvp"
_COUNTS = ("ul_grad_x", "ul_grad_y", "ll_grad_x", "ll_grad_y", "ll_hvp", "ll_jvp", "con_value", "con_vjp",
           "projections", "oracle_calls", "samples")


def _pair(default="same"):
    return Param("pair_sample", default, "share one noise draw between the two grad_x G terms (mean-squared "
                 "smoothness) or draw them independently", choices=("same", "independent"))


_sigma = Param("sigma", 0.01, "penalty parameter sigma (psi_sigma = min_y f + (g - min g)/sigma)", minimum=1e-12)
_alpha = Param("alpha", 0.0, "x step (0: 0.5/L_psi when the problem knows it, else sigma/(l_f1 + L_g))", minimum=0.0)
_gy = Param("gamma_y", 0.0, "y step (0: 1/(sigma l_f1 + L_g))", minimum=0.0)
_gz = Param("gamma_z", 0.0, "z step (0: 1/L_g)", minimum=0.0)

_common_sq = (Param("d_x", 10, "upper-level dimension", minimum=1), Param("d_y", 10, "lower-level dimension",
                                                                              minimum=1),
              Param("mu", 0.5, "strong convexity of g(x, .) (smallest eigenvalue of A)", minimum=1e-12),
              Param("L_g", 1.0, "smoothness of g(x, .) (largest eigenvalue of A)", minimum=1e-12),
              Param("noise", 0.0, "additive Gaussian oracle noise s_f = s_g = s_h", minimum=0.0),
              Param("y_start", 0.0, "initial y (every coordinate)"))

CATALOG = Catalog(
    family="bilevel",
    title="Bilevel optimization: unbounded smoothness, penalty methods, coupled lower-level constraints",
    algorithms=(
        AlgorithmSpec(
            name="borep", title="BO-REP (normalized momentum, periodic LL updates, init refinement)", paper=BOREP,
            update_rule="every I: N x y <- y - gamma grad_y G; v <- v - nu(Hv - grad_y F); q = grad_x F - J v; "
                        "m <- beta m + (1-beta) q; x <- x - eta m/|m|",
            proven_rate="O~(eps^-4) oracle calls for E|grad Phi| <= eps: hypergrad_norm_avg ~ K^(-1/4) at "
                        "horizon-tuned parameters (theory mode)",
            oracles=_COUNTS,
            params=(Param("mode", "practical", "practical (authors' settings) or theory (horizon-tuned, "
                          "Epoch-SGD init)", choices=("practical", "theory")),
                    Param("eta", 0.05, "UL step length (practical mode)", minimum=0.0),
                    Param("beta", 0.9, "momentum (practical mode)", minimum=0.0),
                    Param("nu", 0.01, "step of the linear-system variable v (practical mode)", minimum=0.0),
                    Param("gamma", 0.0, "LL SGD step (0: 0.5/L_g; practical mode)", minimum=0.0),
                    Param("period", 2, "LL refresh period I (practical mode)", minimum=1),
                    Param("inner_steps", 3, "LL SGD steps N per refresh (practical mode)", minimum=0),
                    Param("eps_norm", 1e-10, "normalization guard", minimum=0.0),
                    Param("order", "clean", "clean: every oracle after the refresh; authors: HVP at the "
                          "pre-refresh y as in the authors' code", choices=("clean", "authors")),
                    Param("horizon", 0, "theory mode: horizon K (0: the run's iteration budget)", minimum=0),
                    Param("c_eta", 1.0, "theory mode: eta = c_eta D_0 K^(-3/4)", minimum=0.0),
                    Param("init_refinement", True, "theory mode: run the Epoch-SGD initialization refinement")),
            entry=f"{_A}:run_borep"),
        AlgorithmSpec(
            name="penalty", title="Penalty method P1 (double loop, fixed sigma)", paper=PENALTY,
            update_rule="M x y <- y - gamma_y grad_y(sigma F + G); M x z <- z - gamma_z grad_y G; "
                        "x <- x - alpha [grad_x F(x,y) + (grad_x G(x,y) - grad_x G(x,z))/sigma]",
            proven_rate="|psi_sigma - psi|, |grad psi_sigma - grad psi| = O(sigma); O(eps^-3) calls "
                        "(deterministic) with sigma = O(eps)",
            oracles=_COUNTS,
            params=(_sigma, _alpha, _gy, _gz,
                    Param("inner_steps", 0, "M inner steps per loop (0: ceil(2 kappa log(1/sigma)))", minimum=0),
                    Param("batch_inner", 1.0, "inner minibatch size (noise / sqrt(b))", minimum=1.0),
                    Param("batch_outer", 1.0, "outer minibatch size", minimum=1.0), _pair(),
                    Param("precision", 0.0, "1/eps; when > 0: sigma = eps/(2 C_grad) and the run reports "
                          "calls_to_eps (complexity sweeps)", minimum=0.0)),
            entry=f"{_A}:run_penalty"),
        AlgorithmSpec(
            name="penalty_single_loop", title="Penalty method P2 (single loop, STORM momentum, same-sample pairs)",
            paper=PENALTY,
            update_rule="y -= gamma_y D_y; z -= gamma_z D_z; x -= alpha D_x; D <- D_hat(w+) + (1-a)(D - D_hat(w))",
            proven_rate="O(eps^-3) deterministic / O(eps^-5) stochastic with mean-squared smoothness",
            oracles=_COUNTS,
            params=(_sigma, _alpha, _gy, _gz,
                    Param("momentum", 0.1, "STORM weight a (a = 1: plain single-loop SGDA)", minimum=0.0),
                    Param("init_batch", 1, "samples averaged for the initial directions", minimum=1)),
            entry=f"{_A}:run_penalty_single_loop"),
        AlgorithmSpec(
            name="lvhba", title="LV-HBA (proximal Lagrangian value function, single loop, Hessian-free)",
            paper=LVHBA,
            update_rule="(theta, lam) <- one projected primal-dual step on the proximal inner saddle problem; "
                        "(x, y) <- Proj_C((x, y) - alpha grad(f/c_k + g - v_gamma)); z <- Proj_Z(z - beta ...)",
            proven_rate="min_k KKT residual ~ K^(-(1-2p)/2) (best K^(-1/4) at p = 1/4); g - v_gamma ~ K^(-p)",
            oracles=_COUNTS,
            params=(Param("alpha", 0.01, "(x, y) step", minimum=0.0), Param("beta", 0.01, "z step", minimum=0.0),
                    Param("eta", 0.02, "(theta, lambda) step", minimum=0.0),
                    Param("gamma1", 0.5, "theta proximal parameter (theory: < 1/rho_g)", minimum=1e-12),
                    Param("gamma2", 0.5, "lambda proximal parameter", minimum=1e-12),
                    Param("c_lower", 1.0, "penalty schedule c_k = c_lower (k+1)^p", minimum=1e-12),
                    Param("p", 0.3, "penalty exponent (theory: p in (0, 1/2))", minimum=0.0),
                    Param("r", 1000.0, "multiplier box Z = [0, r]^l ([-r, r]^l for equalities)", minimum=0.0)),
            entry=f"{_A}:run_lvhba"),
        AlgorithmSpec(
            name="soba", title="SOBA (simultaneous single-sample implicit differentiation)", paper=SOBA,
            update_rule="y -= rho grad_y G; v -= rho (H v - grad_y F); x -= gamma (grad_x F - J v)",
            proven_rate="no bound attached (exponents uncertain in the spec); fixed steps diverge under (L0, L1)",
            oracles=_COUNTS,
            params=(Param("rho", 0.5, "y and v step", minimum=0.0), Param("gamma", 0.01, "x step", minimum=0.0),
                    Param("e_rho", 0.0, "decay exponent of rho", minimum=0.0),
                    Param("e_gamma", 0.0, "decay exponent of gamma", minimum=0.0)),
            entry=f"{_A}:run_soba", baseline=True),
        AlgorithmSpec(
            name="ma_soba", title="MA-SOBA (SOBA with a moving-average direction)",
            paper="Chen, Xu, Zhang, Optimal algorithms for stochastic bilevel optimization under relaxed "
                  "smoothness conditions (2023)",
            update_rule="y -= rho grad_y G; v -= rho (H v - grad_y F); u <- beta u + (1-beta)(grad_x F - J v); "
                        "x -= gamma u",
            proven_rate="no bound attached (uncertain in the spec)",
            oracles=_COUNTS,
            params=(Param("rho", 0.5, "y and v step", minimum=0.0), Param("gamma", 0.01, "x step", minimum=0.0),
                    Param("beta", 0.9, "moving-average weight", minimum=0.0)),
            entry=f"{_A}:run_ma_soba", baseline=True),
        AlgorithmSpec(
            name="aid", title="AID (warm-started GD on y, CG on the linear system)",
            paper="Pedregosa (2016); Ji, Yang, Liang (2021)",
            update_rule="T x y -= rho grad_y G; v <- Q CG steps on H v = grad_y F; x -= gamma (grad_x F - J v)",
            proven_rate="min_k |grad Phi| <= sqrt(2 L_Phi (Phi_0 - Phi*)/k) with accurate inner solves",
            oracles=_COUNTS,
            params=(Param("inner_steps", 10, "T GD steps on y per outer step", minimum=0),
                    Param("linsys_steps", 10, "Q CG (or GD) steps on v", minimum=0),
                    Param("solver", "cg", "linear-system solver", choices=("cg", "gd")),
                    Param("rho", 0.0, "y (and gd v) step (0: 1/L_g)", minimum=0.0),
                    Param("gamma", 0.0, "x step (0: 1/L_Phi)", minimum=0.0)),
            entry=f"{_A}:run_aid", baseline=True),
        AlgorithmSpec(
            name="f2sa", title="F2SA (fully first-order, growing multiplier)", paper=F2SA,
            update_rule="T x [z -= gamma_k grad_y G(x,z); y -= alpha_k (grad_y F + lam_k grad_y G)]; "
                        "x -= r_x alpha_k (grad_x F + lam_k (grad_x G(x,y) - grad_x G(x,z)))",
            proven_rate="min_k |grad Phi| ~ K^(-1/7) with the paper-form schedule (bias 1/lambda_k); "
                        "eps^-3 deterministic needs the deterministic schedule (not implemented)",
            oracles=_COUNTS,
            params=(Param("inner_steps", 10, "T inner steps", minimum=1),
                    Param("c_alpha", 0.05, "alpha_k = c_alpha (k + k0)^(-5/7)", minimum=0.0),
                    Param("c_gamma", 1.0, "gamma_k = c_gamma (k + k0)^(-4/7); lambda_k = gamma_k/(2 alpha_k)",
                          minimum=0.0),
                    Param("k0", 1.0, "schedule offset", minimum=1.0),
                    Param("r_x", 1.0, "x step ratio", minimum=0.0), _pair()),
            entry=f"{_A}:run_f2sa", baseline=True),
    ),
    problems=(
        ProblemSpec("quadratic", "Quadratic upper and lower levels (strongly convex Phi)",
                    "y*(x) = A^-1 B x; x* from one linear solve",
                    _common_sq + (Param("rho", 1.0, "upper-level weight rho |x|^2/2", minimum=0.0),
                                  Param("x_start", 3.0, "initial x (every coordinate)")),
                    f"{_P}:build_quadratic"),
        ProblemSpec("quartic_logcosh", "S1: quartic + log cosh upper level ((L0, L1)-smooth, not L-smooth)",
                    "closed-form y*, v*, grad Phi; x* by damped Newton (Phi strictly convex)",
                    _common_sq + (Param("x_start", 3.0, "initial x (3: near start, 10: far start)"),),
                    f"{_P}:build_quartic_logcosh"),
        ProblemSpec("rank_deficient", "K1: rank-deficient lower level (PL, non-singleton S(x))",
                    "closed-form psi, psi_sigma and gradients via M^+; x*_psi and AID's selection x_sel by "
                    "linear solves",
                    (Param("d_x", 10, "upper-level dimension", minimum=1),
                     Param("d_y", 20, "lower-level dimension", minimum=1),
                     Param("m", 15, "rows of M", minimum=1), Param("rank", 10, "rank of M", minimum=1),
                     Param("mu", 0.1, "smallest nonzero eigenvalue of M^T M", minimum=1e-12),
                     Param("L_g", 1.0, "largest eigenvalue of M^T M", minimum=1e-12),
                     Param("coupling", 1.0, "scale of E (E != 0: AID's selection differs from x*_psi)"),
                     Param("box", 100.0, "Y = [-box, box]^{d_y}", minimum=0.0),
                     Param("noise", 0.0, "additive Gaussian oracle noise", minimum=0.0),
                     Param("x_start", 0.0, "initial x"), Param("y_start", 0.0, "initial y")),
                    f"{_P}:build_rank_deficient"),
        ProblemSpec("coupled_inequality", "L4: coupled inequality y <= x, half the constraints active",
                    "per-coordinate closed form (two branches); checked against scipy in the tests",
                    (Param("n", 20, "dimension of x and y", minimum=2), Param("rho", 1.0, "UL weight", minimum=0.0),
                     Param("noise", 0.0, "additive Gaussian oracle noise", minimum=0.0),
                     Param("x_start", 0.0, "initial x"), Param("y_start", 0.0, "initial y")),
                    f"{_P}:build_coupled_inequality"),
        ProblemSpec("coupled_equality", "L1: the LV-HBA LLC toy, one coupled equality, non-singleton lower level",
                    "KKT linear system of the optimistic convex QP (closed form x* = -0.3, y* = (0.7, -0.4))",
                    (Param("n", 20, "dimension of x (y has 2n entries)", minimum=1),
                     Param("noise", 0.0, "additive Gaussian oracle noise", minimum=0.0),
                     Param("x_start", 0.0, "initial x"), Param("y_start", 0.0, "initial y")),
                    f"{_P}:build_coupled_equality"),
    ),
    axes={"iteration": "iteration", "oracle_calls": "oracle calls", "horizon": "horizon K", "precision": "1/eps",
          "sigma": "penalty sigma", "p": "penalty exponent p"},
    benchmarks="optsandbox.bilevel.bench:cases",
)
