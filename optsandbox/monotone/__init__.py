"""Monotone inclusions: variance-reduced Halpern iteration (Cai, Alacaoglu, Diakonikolas 2024) and baselines.

Problem: find u with 0 in F(u) + G(u), F = (1/n) sum_i F_i monotone, G with a cheap resolvent. Budgets and
axes count component evaluations F_i ("oracle_calls"; epochs = calls / n). Metadata only: kernels load
when a run needs them.
"""
from ..api import AlgorithmSpec, Catalog, Param, ProblemSpec

PAPER = "Cai, Alacaoglu, Diakonikolas, Variance Reduced Halpern Iteration for Finite-Sum Monotone " \
        "Inclusions (ICLR 2024, arXiv 2310.02987)"
_M = "optsandbox.monotone.algorithms"
_P = "optsandbox.monotone.problems"

_target = Param("target_rel", 0.0, "stop once the residual (checked at record points) is <= target_rel * "
                "Res(u_0), and report the event epochs_to_target; 0 = run the whole budget", minimum=0.0)
_oracles = ("oracle_calls", "epochs", "full_passes", "resolvent_calls")

CATALOG = Catalog(
    family="monotone",
    title="Finite-sum monotone inclusions: variance-reduced Halpern iteration and its baselines",
    algorithms=(
        AlgorithmSpec(
            name="vr_halpern", title="VR-Halpern, cocoercive case (Algorithm 1)", paper=PAPER,
            update_rule="u_{k+1} = J_{eta G}(lam_k u_0 + (1-lam_k) u_k - eta Ft_k), lam_k = 2/(k+4); Ft_k = "
                        "F(u_k) w.p. p_k, else Ft_{k-1} + mean_{j in S}[F_j(u_k) - F_j(u_{k-1})], |S| = sqrt(n)",
            proven_rate="E Res(u_K) = O(L D / K); O~(n + sqrt(n) L D / eps) component calls",
            oracles=_oracles,
            params=(Param("step_scale", 1.0, "eta = step_scale / L, L the (A-coco) average constant", minimum=0.0),
                    Param("batch", 0, "minibatch size b; 0 = floor(sqrt(n))", minimum=0), _target),
            entry=f"{_M}:run_vr_halpern"),
        AlgorithmSpec(
            name="vr_halpern_lip", title="Inexact Halpern with VR-FoRB inner solver, monotone case (Algorithm 2)",
            paper=PAPER,
            update_rule="u_{k+1} = u_0/(k+2) + (1 - 1/(k+2)) v_k,  v_k ~ J_{eta(F+G)}(u_k) by M_k VR-FoRB steps",
            proven_rate="Res(u_K) = O~(L D / K) per outer step; O~(n + sqrt(n) L D / eps) calls (near optimal)",
            oracles=_oracles,
            params=(Param("eta", 0.0, "resolvent parameter; 0 = sqrt(n)/L (A-lip constant)", minimum=0.0),
                    Param("gamma", 0.0, "inner step; 0 = 0.49 sqrt(p(1-p))/(1 + eta L), p = 1/n", minimum=0.0),
                    Param("inner_scale", 1.0, "M_k = ceil(inner_scale (n + sqrt(n)(1 + eta L)) ln(k+2))",
                          minimum=0.0),
                    Param("snapshot_reset", "iterate", "snapshot refresh: the published rule w <- v "
                          "(iterate) or the public scripts' w <- u_k (anchor)", choices=("iterate", "anchor")),
                    _target),
            entry=f"{_M}:run_vr_halpern_lip"),
        AlgorithmSpec(
            name="halpern", title="Halpern iteration (forward-backward form)",
            paper="Halpern (1967); tight rate: Lieder, Optim. Lett. (2021)",
            update_rule="u_{k+1} = u_0/(k+2) + (1 - 1/(k+2)) J_{eta G}(u_k - eta F(u_k))",
            proven_rate="||u_k - T u_k|| <= 2 D/(k+1); G = 0, eta = 2/L_F: ||F(u_k)|| <= L_F D/(k+1)",
            oracles=_oracles,
            params=(Param("step_scale", 1.0, "eta = step_scale * 2 / L_coco (cocoercivity constant of F)",
                          minimum=0.0),
                    _target),
            entry=f"{_M}:run_halpern", baseline=True),
        AlgorithmSpec(
            name="eg", title="Extragradient", paper="Korpelevich (1976); last iterate: Gorbunov, Loizou, "
                                                    "Gidel (AISTATS 2022)",
            update_rule="z_half = J(z - a F(z)); z <- J(z - a F(z_half))",
            proven_rate="||F(z_k)|| = O(L_F D / sqrt(k)) (last iterate, G = 0, a < 1/L_F)",
            oracles=_oracles,
            params=(Param("step_scale", 1.0, "a = step_scale * 0.5 / L_F", minimum=0.0), _target),
            entry=f"{_M}:run_eg", baseline=True),
        AlgorithmSpec(
            name="eag", title="Extra-anchored gradient (EAG-C)", paper="Yoon, Ryu (ICML 2021)",
            update_rule="z_half = z + b_k(z_0 - z) - a F(z); z <- z + b_k(z_0 - z) - a F(z_half), b_k = 1/(k+2)",
            proven_rate="||F(z_k)|| = O(L_F D / k) for a <= 1/(8 L_F), G = 0",
            oracles=_oracles,
            params=(Param("step_scale", 1.0, "a = step_scale / (8 L_F)", minimum=0.0), _target),
            entry=f"{_M}:run_eag", baseline=True),
        AlgorithmSpec(
            name="vr_eg", title="VR-EG (loopless SVRG extragradient)",
            paper="Alacaoglu, Malitsky, Stochastic Variance Reduction for Variational Inequality Methods "
                  "(COLT 2022)",
            update_rule="zbar = (1-p) z + p w; z_half = J(zbar - tau F(w)); "
                        "z <- J(zbar - tau [F(w) + F_xi(z_half) - F_xi(w)]); w <- z w.p. p",
            proven_rate="ergodic gap O(n + sqrt(n) L / eps); no last-iterate residual rate",
            oracles=_oracles,
            params=(Param("step_scale", 1.0, "tau = step_scale * 0.5 sqrt(p) / L (A-lip constant), p = 1/n",
                          minimum=0.0),
                    _target),
            entry=f"{_M}:run_vr_eg", baseline=True),
    ),
    problems=(
        ProblemSpec(
            "coco_lowrank", "P1: cocoercive finite sum S_i(u - u_c) with controlled similarity of components",
            "mean S = U Lambda U^T exactly; L_coco = l_max; (A-coco) L by a generalized eigenproblem; "
            "u* = projection of u_0 on the solution set u_c + range(U)^perp",
            (Param("n", 256, "components", minimum=1), Param("d", 20, "dimension", minimum=1),
             Param("r", 10, "rank of the mean operator", minimum=1),
             Param("l_min", 0.01, "smallest nonzero eigenvalue of the mean", minimum=0.0),
             Param("l_max", 1.0, "largest eigenvalue (= L_coco)", minimum=0.0),
             Param("delta", 0.05, "dissimilarity in [0, 1] (0: identical components)", minimum=0.0),
             Param("s", 2, "rank of each perturbation", minimum=1),
             Param("active_power", 1.0, "only ceil(n^a) components are nonzero, scaled by n/ceil(n^a): "
                   "L/L_F grows like n^(1-a) (a = 1: all active)", minimum=0.0),
             Param("box", 0.0, "0: unconstrained; > 1: box [-b, b]^d, b = box * max|u*_i|", minimum=0.0)),
            f"{_P}:build_coco_lowrank"),
        ProblemSpec(
            "bilinear_sum", "P2: bilinear (skew) plus optional quadratic saddle finite sum",
            "unique solution u_c (A nonsingular by construction); L_F, L_avg_lip by dense linear algebra",
            (Param("n", 64, "components", minimum=1), Param("m", 10, "dimension of x and of y", minimum=1),
             Param("delta", 0.5, "size of the centred perturbations N_i", minimum=0.0),
             Param("quad", 0.0, "weight of the PSD quadratic parts (0: skew, not cocoercive)", minimum=0.0),
             Param("sv_min", 0.1, "smallest singular value of A", minimum=0.0),
             Param("sv_max", 1.0, "largest singular value of A", minimum=0.0),
             Param("box", 0.0, "0: unconstrained; > 1: box [-b, b]^d, b = box * max|u_c,i|", minimum=0.0)),
            f"{_P}:build_bilinear_sum"),
        ProblemSpec(
            "matrix_game", "Policeman-burglar matrix game on two simplices (the authors' experiment)",
            "saddle point by two linear programs (scipy HiGHS)",
            (Param("m", 50, "strategies per player (= n components)", minimum=2),
             Param("theta", 0.8, "decay of A_ij = w_j (1 - exp(-theta |i-j|))", minimum=0.0)),
            f"{_P}:build_matrix_game"),
    ),
    axes={"iteration": "iteration", "oracle_calls": "component evaluations F_i", "epochs": "epochs (calls / n)",
          "n": "n (components)"},
    benchmarks="optsandbox.monotone.bench:cases",
)
