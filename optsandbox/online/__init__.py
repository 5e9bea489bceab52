"""Online convex optimization in the SEA model: optimistic OMD (Chen et al.) and its baselines.

The stochastically extended adversarial model (Sachs et al. 2022) interpolates between adversarial and
i.i.d. losses through sigma^2_{1:T} (stochastic variance) and Sigma^2_{1:T} (adversarial variation of the
expected losses); the environments here know both in closed form. Metadata only: kernels load when a run
needs them.
"""
from ..api import AlgorithmSpec, Catalog, Param, ProblemSpec

PAPER = "Chen, Zhang, Tu, Zhao, Zhang, Optimistic Online Mirror Descent for Bridging Stochastic and " \
        "Adversarial Online Convex Optimization (ICML 2023; JMLR 25(178), 2024)"
SACHS = "Sachs, Hadiji, van Erven, Guzman, Between Stochastic and Adversarial Online Convex Optimization " \
        "(NeurIPS 2022)"
_M = "optsandbox.online.algorithms"
_P = "optsandbox.online.problems"
_oracles = ("grad_calls", "projections")

CATALOG = Catalog(
    family="online",
    title="Online convex optimization between stochastic and adversarial: optimistic OMD in the SEA model",
    algorithms=(
        AlgorithmSpec(
            name="oomd", title="Optimistic OMD, convex (adaptive step)", paper=PAPER,
            update_rule="x_t = Pi(xh_t - eta_t g_{t-1}); xh_{t+1} = Pi(xh_t - eta_t g_t); "
                        "eta_t = D / sqrt(delta + 4G^2 + sum_{s<t} ||g_s - g_{s-1}||^2)",
            proven_rate="E R_T = O(sqrt(sigma^2_{1:T}) + sqrt(Sigma^2_{1:T}))",
            oracles=_oracles,
            params=(Param("delta_scale", 1.0, "delta = delta_scale * 16 L^2 D^2 (>= 1 keeps eta_t <= 1/(4L))",
                          minimum=0.0),),
            entry=f"{_M}:run_oomd"),
        AlgorithmSpec(
            name="oomd_sc", title="Optimistic OMD, strongly convex", paper=PAPER,
            update_rule="same two projections, eta_t = 2 / (lam (t + t0))",
            proven_rate="O((sigma^2_max + Sigma^2_max)/lam * log((sigma^2_{1:T} + Sigma^2_{1:T})"
                        "/(sigma^2_max + Sigma^2_max)))",
            oracles=_oracles,
            params=(Param("t0", -1, "step offset; -1 = ceil(8 L / lam) (eta_t <= 1/(4L))", minimum=-1),),
            entry=f"{_M}:run_oomd_sc"),
        AlgorithmSpec(
            name="oomd_exp", title="Optimistic OMD, exp-concave (Mahalanobis regularizer)", paper=PAPER,
            update_rule="x_t = Pi^U(xh_t - U_t^-1 g_{t-1}); xh_{t+1} = Pi^U(xh_t - U_t^-1 g_t); "
                        "U_t = delta I + (beta/2) sum_{s<t} g_s g_s^T",
            proven_rate="O(d log(sigma^2_{1:T} + Sigma^2_{1:T}))",
            oracles=_oracles,
            params=(Param("delta_scale", 1.0, "delta = delta_scale * max(beta G^2, 1/(beta^2 D^2))", minimum=0.0),),
            entry=f"{_M}:run_oomd_exp"),
        AlgorithmSpec(
            name="ogd", title="Online gradient descent", paper="Zinkevich (2003); Hazan, Introduction to OCO",
            update_rule="x_{t+1} = Pi(x_t - eta_t g_t), eta_t = D/(G sqrt t) or 1/(lam t)",
            proven_rate="R_T <= 1.5 D G sqrt(T) (convex); G^2/(2 lam) (1 + log T) (strongly convex)",
            oracles=_oracles,
            params=(Param("mode", "convex", "step rule", choices=("convex", "strongly_convex")),),
            entry=f"{_M}:run_ogd", baseline=True),
        AlgorithmSpec(
            name="oftrl", title="Optimistic FTRL (adaptive)", paper=SACHS + ", Thm 5",
            update_rule="x_t = Pi(-(eta_t/2)(sum_{s<t} g_s + g_{t-1})), "
                        "eta_t = D^2/(nu + sum_{s<t} eta_s ||g_s - g_{s-1}||^2)",
            proven_rate="E R_T = O(D (sigma_bar_T + Sigma_bar_T) sqrt(T) + D G + L D^2)",
            oracles=_oracles,
            params=(Param("nu_scale", 1.0, "nu = nu_scale (L D^2 + D G^2)", minimum=0.0),),
            entry=f"{_M}:run_oftrl", baseline=True),
        AlgorithmSpec(
            name="ons", title="Online Newton step", paper="Hazan, Agarwal, Kale (2007); Hazan, Introduction to OCO",
            update_rule="A_t = eps I + sum_{s<=t} g_s g_s^T; x_{t+1} = Pi^{A_t}(x_t - A_t^-1 g_t / gamma)",
            proven_rate="R_T <= 5 (1/alpha + G D) d log T",
            oracles=_oracles, params=(), entry=f"{_M}:run_ons", baseline=True),
    ),
    problems=(
        ProblemSpec(
            "sea_quadratic",
            "E1: noisy drifting quadratic on the ball, sigma_t^2 = s_t^2, Sigma_t^2 = ||Q(c_t - c_{t-1})||^2",
            "sigma and Sigma in closed form; Sigma_1^2 by the secular equation; comparators in closed form "
            "(trust-region with diagonal Q) at every record point",
            (Param("d", 20, "dimension", minimum=1), Param("R", 1.0, "ball radius (D = 2R)", minimum=0.0),
             Param("q_power", 2.0, "q_i = q_floor + i^-q_power (slowly conditioned)", minimum=0.0),
             Param("q_floor", 0.0, "added to every q_i: the strong convexity lam", minimum=0.0),
             Param("c_norm", 0.5, "||c|| (drift amplitude; < R: interior optimum)", minimum=0.0),
             Param("c_along", "uniform", "direction of c: (1,...,1)/sqrt(d) or e_1 (largest curvature)",
                   choices=("uniform", "stiff")),
             Param("regime", "iid", "schedule of (c_t, s_t)", choices=("iid", "switching", "random_sign", "decaying")),
             Param("noise", 0.0, "s0: noise level (uniform on the sphere of radius s_t)", minimum=0.0),
             Param("noise_decay", 0.25, "a in s_t = s0 t^-a (decaying regime)", minimum=0.0),
             Param("switch_power", 0.5, "kappa: floor(t^kappa) sign switches up to t (switching regime)",
                   minimum=0.0),
             Param("nonconvex", 0.0, "E3: add xi_t kappa sin(<v, x>), xi_t = +-1 (nonconvex components, "
                   "convex mean); requires noise = 0", minimum=0.0),
             Param("v_norm", 2.0, "||v||, v along the flattest direction e_d", minimum=0.0)),
            f"{_P}:build_sea_quadratic"),
    ),
    axes={"iteration": "round", "T": "round T", "grad_calls": "gradient queries"},
    benchmarks="optsandbox.online.bench:cases",
)
