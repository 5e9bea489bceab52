"""Compression: EControl (error feedback with error control) and its baselines EF14, EF21, compressed GD.

Paper: Y. Gao, R. Islamov, S. U. Stich, "EControl: Fast Distributed Optimization with Compression and Error
Control", ICLR 2024 (arXiv 2311.05645). n simulated clients send one compressed message per round
(contractive compressors in ``optsandbox.kernels.compressors``); the runs count rounds, gradients per
client, and bits and floats sent per client. Metadata only: kernels load when a run needs them.
"""
from ..api import AlgorithmSpec, Catalog, Param, ProblemSpec

PAPER = "Gao, Islamov, Stich, EControl: Fast Distributed Optimization with Compression and Error Control (ICLR 2024)"
_M = "optsandbox.compression.algorithms"
_P = "optsandbox.compression.problems"
_ORACLES = ("rounds", "grads", "bits_up", "floats_up")

_compressor = Param("compressor", "topk", "contractive compressor (randk_scaled is unbiased, not contractive)",
                    choices=("topk", "randk", "sign", "identity", "randk_scaled"))
_k_ratio = Param("k_ratio", 0.1, "k/d of top-k and random-k (k = ceil(k_ratio d))", minimum=0.0)
_step = Param("step", 0.0, "gamma * L (the step in units of 1/L); 0 = the method's default step "
              "(1/L for GD and compressed GD, EF21's theory step for error-feedback methods)", minimum=0.0)
_init = Param("init", "dense", "initial shift h_0^i: the dense gradient, or its compression",
              choices=("dense", "compressed"))
_stop = Param("stop_rel", 1e-18, "stop (converged) once f_gap <= stop_rel * f_gap(x_0), above the float64 "
              "floor; used on problems with an exact gap only", minimum=0.0)
_COMMON = (_compressor, _k_ratio, _step, _stop)

_sigma = Param("sigma", 0.0, "gradient noise: g_i = grad f_i + N(0, sigma^2/d I), E||noise||^2 = sigma^2",
               minimum=0.0)
_use_mu = Param("use_mu", True, "let the theory use the strong convexity mu (false: state the convex "
                "O(1/T) bounds; useful when mu is tiny and T << 1/(gamma mu))")

CATALOG = Catalog(
    family="compression",
    title="Distributed optimisation with compressed communication: EControl and error feedback",
    algorithms=(
        AlgorithmSpec(
            name="econtrol", title="EControl (error feedback with error control)", paper=PAPER,
            update_rule="Delta^i = C(eta e^i + g^i - h^i); e^i += g^i - h^i - Delta^i; h^i += Delta^i; "
                        "x_{t+1} = x_t - gamma mean_i h^i",
            proven_rate="linear (strongly convex), O(1/T) convex and nonconvex with deterministic "
                        "gradients, eta = delta/400; constants not settled (rate > 0 is checked)",
            oracles=_ORACLES,
            params=_COMMON + (Param("eta", 0.1, "error-control strength eta; < 0 = the theory value "
                                    "delta/400"), _init),
            entry=f"{_M}:run_econtrol"),
        AlgorithmSpec(
            name="ef21", title="EF21 (Richtarik, Sokolov, Fatkhullin 2021)",
            paper="Richtarik, Sokolov, Fatkhullin, EF21: A New, Simpler, Theoretically Better, and "
                  "Practically Faster Error Feedback (NeurIPS 2021)",
            update_rule="x_{t+1} = x_t - gamma g^t; g_i^{t+1} = g_i^t + C(grad f_i(x_{t+1}) - g_i^t)",
            proven_rate="PL: Psi_T <= (1 - gamma mu)^T Psi_0; nonconvex: mean ||grad f||^2 <= 2 Psi_0/(gamma T)",
            oracles=_ORACLES, params=_COMMON + (_init,), entry=f"{_M}:run_ef21", baseline=True),
        AlgorithmSpec(
            name="ef14", title="EF14 (classic error feedback, gamma inside)",
            paper="Seide et al. (2014); Stich and Karimireddy (2020)",
            update_rule="p = e^i + gamma g^i; Delta^i = C(p); e^i = p - Delta^i; x -= mean_i Delta^i",
            proven_rate="converges under bounded heterogeneity only; plateaus ~ L gamma^2 zeta^2/delta^2",
            oracles=_ORACLES, params=_COMMON, entry=f"{_M}:run_ef14", baseline=True),
        AlgorithmSpec(
            name="cgd", title="Compressed GD without error feedback",
            paper="Beznosikov, Horvath, Richtarik, Safaryan, On Biased Compression for Distributed "
                  "Learning (2020)",
            update_rule="x_{t+1} = x_t - gamma mean_i C(g_i)",
            proven_rate="none under heterogeneity: may stall or diverge",
            oracles=_ORACLES, params=_COMMON, entry=f"{_M}:run_cgd", baseline=True),
        AlgorithmSpec(
            name="gd", title="Uncompressed (S)GD", paper="Nesterov, Lectures on Convex Optimization (2018)",
            update_rule="x_{t+1} = x_t - gamma mean_i g_i",
            proven_rate="(1 - gamma mu)^t strongly convex; ||x_0 - x*||^2/(2 gamma T) convex; "
                        "2 F_0/(gamma T) nonconvex (gamma <= 1/L)",
            oracles=_ORACLES, params=(_step, _stop), entry=f"{_M}:run_gd", baseline=True),
        AlgorithmSpec(
            name="ec_ideal", title="EC-Ideal (error feedback with the known shifts grad f_i(x*))",
            paper=PAPER,
            update_rule="Delta^i = C(e^i + g^i - h*_i); e^i += g^i - h*_i - Delta^i; "
                        "x -= gamma (h* + mean_i Delta^i)",
            proven_rate="idealised reference (needs x*): no bound stated",
            oracles=_ORACLES, params=_COMMON, entry=f"{_M}:run_ec_ideal", baseline=True),
    ),
    problems=(
        ProblemSpec("hetero_quadratic", "EC-1b: quadratics with a common Hessian and heterogeneity zeta",
                    "x* by a linear solve H x = b; zeta_bar^2 = zeta^2 by construction; f*, h*_i exact",
                    (Param("n", 10, "clients", minimum=1), Param("d", 50, "dimension", minimum=1),
                     Param("zeta", 10.0, "heterogeneity zeta_bar", minimum=0.0),
                     Param("condition", 10.0, "condition number L/mu", minimum=1.0),
                     Param("L", 1.0, "largest eigenvalue of H", minimum=0.0),
                     Param("planted", False, "draw x* ~ N(0, I) and set b = H x* (flat spectrum of "
                           "x_0 - x*)"), _sigma, _use_mu),
                    f"{_P}:build_hetero_quadratic"),
        ProblemSpec("koloskova_quadratic", "EC-1a: f_i = ||(i/sqrt n) x - b_i||^2/2, b_i ~ N(0, zeta^2/i^2 I)",
                    "x* by a linear solve of the normal equations", (
                        Param("n", 10, "clients", minimum=1), Param("d", 50, "dimension", minimum=1),
                        Param("zeta", 10.0, "heterogeneity scale", minimum=0.0), _sigma, _use_mu),
                    f"{_P}:build_koloskova_quadratic"),
        ProblemSpec("cgd_counterexample", "Beznosikov et al. (2020) Example 1: top-1 compressed GD diverges",
                    "x* = 0 by a linear solve; zeta = 0; mu, L from eigenvalues", (
                        Param("eps", 0.1, "tie-breaking perturbation of the client Hessians", minimum=0.0),
                        Param("t", 1.0, "x_0 = t (1, 1, 1)"), _sigma),
                    f"{_P}:build_cgd_counterexample"),
        ProblemSpec("hetero_logistic", "EC-2: nonconvex logistic regression, label-sorted, uneven split",
                    "f_ref and x_ref by scipy L-BFGS (gradient norm reported); L from eigenvalues", (
                        Param("n", 10, "clients", minimum=1), Param("d", 20, "dimension", minimum=1),
                        Param("m", 50, "samples per client on average", minimum=2),
                        Param("lam", 0.1, "nonconvex regulariser weight", minimum=0.0),
                        Param("flip", 0.1, "label flip probability", minimum=0.0),
                        Param("imbalance", 1.0, "client sizes proportional to i^imbalance", minimum=0.0),
                        _sigma),
                    f"{_P}:build_hetero_logistic"),
    ),
    axes={"rounds": "communication rounds", "grads": "gradients per client",
          "bits_up": "bits sent per client", "floats_up": "floats sent per client", "n": "clients n",
          "zeta": "heterogeneity zeta", "eta": "error-control strength eta"},
    benchmarks="optsandbox.compression.bench:cases",
)
