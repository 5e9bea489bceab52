"""Privacy: DIFF2-GD (private gradient differences) against DP-GD, with Gaussian-mechanism accountants.

Paper: T. Murata, T. Suzuki, "DIFF2: Differential Private Optimization via Gradient Differences for
Nonconvex Distributed Learning", ICML 2023 (arXiv 2302.03884). Central trust model (the server adds the
noise once to the average of the clients' clipped means), replace-one record adjacency, (epsilon, delta)
from a zCDP / RDP / GDP accountant (``optsandbox.privacy.accounting``). Metadata only.
"""
from ..api import AlgorithmSpec, Catalog, Param, ProblemSpec

PAPER = ("Murata, Suzuki, DIFF2: Differential Private Optimization via Gradient Differences for Nonconvex "
         "Distributed Learning (ICML 2023)")
_M = "optsandbox.privacy.algorithms"
_P = "optsandbox.privacy.problems"
_ORACLES = ("rounds", "per_sample_grads", "floats_up", "noise_draws")

_eps = Param("epsilon", 1.0, "privacy epsilon", minimum=0.0)
_delta = Param("delta", 1e-5, "privacy delta", minimum=0.0)
_acc = Param("accountant", "zcdp", "accountant calibrating the noise (admissible M^2 for (epsilon, delta))",
             choices=("zcdp", "rdp", "rdp_improved", "rdp_paper", "gdp"))
_rounds = Param("rounds", 0, "rounds R; 0 = the theory value R*(N) (capped by the iteration budget)",
                minimum=0)
_clip = Param("clip", 0.0, "per-sample gradient clip radius C1; 0 = G (clipping inactive)", minimum=0.0)
_step = Param("step", 0.0, "eta * L; 0 = 1/2 (eta = 1/(2L))", minimum=0.0)

CATALOG = Catalog(
    family="privacy",
    title="Differentially private nonconvex distributed optimisation: DIFF2 versus DP-GD",
    algorithms=(
        AlgorithmSpec(
            name="diff2", title="DIFF2-GD (private gradient differences, GD subroutine)", paper=PAPER,
            update_rule="restart: v = mean clip_C1(grad l(x)) + C1 s1 xi; else v += mean clip_{C2||dx||}"
                        "(grad l(x) - grad l(x_prev)) + C2||dx|| s2 xi; x -= eta v",
            proven_rate="E||grad f(x_out)||^2 = O~(d^(2/3)/(N eps)^(4/3)): slope -4/3 in N",
            oracles=_ORACLES,
            params=(_eps, _delta, _acc, _rounds,
                    Param("period", 0, "restart period T; 0 = the theory value T*(N, R)", minimum=0),
                    _clip, Param("clip_diff", 0.0, "difference clip factor C2; 0 = L", minimum=0.0), _step,
                    Param("u", 1.25, "budget split: 1/u to restarts, (u-1)/u to differences", minimum=1.0001),
                    Param("calibration", "ceil", "restart count in sigma_1: ceil(R/T) or the code's R/T",
                          choices=("ceil", "code"))),
            entry=f"{_M}:run_diff2"),
        AlgorithmSpec(
            name="dp_gd", title="DP-GD (clipped full-batch GD with Gaussian noise)",
            paper="Abadi et al., Deep Learning with Differential Privacy (CCS 2016); the DIFF2 baseline",
            update_rule="v = mean_s clip_C(grad l(x; z_s)) + C sigma xi; x -= eta v",
            proven_rate="E||grad f(x_out)||^2 = O~(sqrt(d)/(N eps)): slope -1 in N",
            oracles=_ORACLES, params=(_eps, _delta, _acc, _rounds, _clip, _step), entry=f"{_M}:run_dp_gd",
            baseline=True),
        AlgorithmSpec(
            name="gd", title="Non-private full-batch GD (epsilon = infinity)", paper=PAPER,
            update_rule="x -= eta mean_s grad l(x; z_s)",
            proven_rate="(1/R) sum ||grad f||^2 <= 4 L Delta_f / R",
            oracles=_ORACLES, params=(_rounds, _step), entry=f"{_M}:run_gd", baseline=True),
    ),
    problems=(
        ProblemSpec("robust_regression", "DP-1: robust nonconvex regression log(1 + (a^T x - b)^2/2), ||a|| = 1",
                    "G = 1/sqrt 2, L = 1 in closed form; Delta_f <= f(x_0); stationary point by scipy",
                    (Param("n", 1000, "records per client", minimum=1), Param("P", 1, "clients", minimum=1),
                     Param("d", 10, "dimension", minimum=1),
                     Param("noise_scale", 0.1, "scale of the Student-t(3) label noise", minimum=0.0),
                     Param("reference_solve", False, "also find a stationary point with scipy")),
                    f"{_P}:build_robust_regression"),
    ),
    axes={"rounds": "rounds", "per_sample_grads": "per-sample gradients", "n": "records per client n",
          "epsilon": "privacy epsilon"},
    benchmarks="optsandbox.privacy.bench:cases",
)
