"""Classification: LR+GD with large steps, the batch perceptrons, Normalized LR+GD, Novikoff's perceptron.

Paper: A. Tyurin, "From Logistic Regression to the Perceptron Algorithm: Exploring Gradient Descent with
Large Step Sizes", arXiv 2412.08424 (2024). The theorems bound an iteration count -- the first iteration
at which every sample has a strictly positive margin -- so the scenarios use ``form = "count"`` bounds and
sweeps over n and gamma. This module holds metadata only; kernels load when a run needs them.
"""
from ..api import AlgorithmSpec, Catalog, Param, ProblemSpec

PAPER = "Tyurin, From Logistic Regression to the Perceptron Algorithm (arXiv 2412.08424, 2024)"
_M = "optsandbox.classification.algorithms"
_P = "optsandbox.classification.problems"

_gamma = Param("gamma", 1.0, "constant step size (any size; the paper's point is gamma >> 2/L)", minimum=0.0)
_track = Param("track_limit", False, "also run the gamma -> infinity limit path and record ||theta_t/gamma - "
               "theta_hat_t|| (limit_path_gap)")
_stop = Param("stop_at_separation", True, "stop at the first separating iterate")

CATALOG = Catalog(
    family="classification",
    title="Separable linear classification: logistic regression with large steps and perceptrons",
    algorithms=(
        AlgorithmSpec(
            name="lr_gd", title="LR+GD (logistic regression, gradient descent, constant step)", paper=PAPER,
            update_rule="theta_{t+1} = theta_t + (gamma/n) sum_i sigma(-b_i^T theta_t) b_i,  theta_0 = 0",
            proven_rate="no finite-gamma bound; gamma -> inf: T_sep <= n R^2/mu^2 (Thm 3.3 via Thm 3.2)",
            oracles=("sample_evals",), params=(_gamma, _track, _stop), entry=f"{_M}:run_lr_gd"),
        AlgorithmSpec(
            name="normalized_lr_gd", title="Normalized LR+GD", paper=PAPER,
            update_rule="theta_{t+1} = theta_t - gamma beta_t grad f(theta_t),  beta_t = 1 / mean_i "
                        "sigma(-b_i^T theta_t)",
            proven_rate="T_sep <= R^2/mu^2 + 2 log(2n-1)/(gamma mu^2) (Thm 6.1)",
            oracles=("sample_evals",), params=(_gamma, _track, _stop), entry=f"{_M}:run_normalized_lr_gd"),
        AlgorithmSpec(
            name="batch_perceptron", title="Batch Perceptron (the gamma -> infinity limit of LR+GD)",
            paper=PAPER,
            update_rule="theta_1 = (1/2n) sum_i b_i;  theta_{t+1} = theta_t + (1/n) sum_{b_i^T theta_t <= 0} b_i",
            proven_rate="T_sep <= n R^2/mu^2 (Thm 3.3); Omega(n) on the lower-bound dataset (Thm 5.1)",
            oracles=("sample_evals",), params=(), entry=f"{_M}:run_batch_perceptron", baseline=True),
        AlgorithmSpec(
            name="normalized_batch_perceptron", title="Normalized Batch Perceptron", paper=PAPER,
            update_rule="theta_{t+1} = theta_t + mean{ b_i : b_i^T theta_t <= 0 }",
            proven_rate="T_sep <= R^2/mu^2 (Thm 5.3)",
            oracles=("sample_evals",), params=(), entry=f"{_M}:run_normalized_batch_perceptron",
            baseline=True),
        AlgorithmSpec(
            name="perceptron", title="Online perceptron (Novikoff)",
            paper="Novikoff, On convergence proofs on perceptrons (1962)",
            update_rule="pick j with b_j^T theta <= 0;  theta <- theta + b_j",
            proven_rate="updates <= R^2/mu^2 for every order (Novikoff)",
            oracles=("sample_evals",),
            params=(Param("selection", "cyclic", "which misclassified sample to update on",
                          choices=("cyclic", "random_order", "first", "most_violated")),),
            entry=f"{_M}:run_perceptron", baseline=True),
    ),
    problems=(
        ProblemSpec("two_point", "C1: the two-point dataset of Thm 4.1 (loss rises, then separates)",
                    "mu = 1, R^2 = 17 in closed form", (), f"{_P}:build_two_point"),
        ProblemSpec("lower_bound", "C2: the Omega(n) dataset of Thm 5.1 (two rows, multiplicities 1, n-1)",
                    "mu = 1/2, R^2 = 5/4 in closed form; Batch Perceptron T_sep = floor(0.3n + 0.2) + 1",
                    (Param("n", 101, "number of samples", minimum=3),
                     Param("lone_first", True, "store the lone +1 point first")),
                    f"{_P}:build_lower_bound"),
        ProblemSpec("gaussian_plane", "C3: Gaussian data labelled by a random hyperplane (easy)",
                    "mu by NNLS (min-norm point of conv{b_i})",
                    (Param("n", 1000, "samples", minimum=2), Param("d", 10, "dimension", minimum=1),
                     Param("tau", 0.05, "rejection margin", minimum=0.0)), f"{_P}:build_gaussian_plane"),
        ProblemSpec("offset_anisotropic", "C4: anisotropic data with a common offset (hard; R^2/mu^2 large)",
                    "mu by NNLS (min-norm point of conv{b_i})",
                    (Param("n", 1000, "samples", minimum=2), Param("d", 20, "dimension", minimum=2),
                     Param("offset", 3.0, "offset orthogonal to the separator"),
                     Param("s_max", 1.0, "largest feature scale", minimum=0.0),
                     Param("s_min", 10 ** -1.5, "smallest feature scale", minimum=0.0),
                     Param("tau", 0.05, "rejection margin", minimum=0.0),
                     Param("pos_fraction", 0.0, "fraction of positives (0: balanced)", minimum=0.0)),
                    f"{_P}:build_offset_anisotropic"),
        ProblemSpec("generic_2d", "C5: generic 2-D data with a Batch Perceptron path of a given length",
                    "mu by NNLS; path length by an independent NumPy Batch Perceptron",
                    (Param("n", 31, "samples", minimum=2), Param("offset", 3.0, "offset"),
                     Param("tau", 0.05, "rejection margin", minimum=0.0),
                     Param("pos_fraction", 0.0, "fraction of positives (0: balanced)", minimum=0.0),
                     Param("min_path_length", 3, "redraw until the Batch Perceptron needs this many "
                           "iterations", minimum=1)),
                    f"{_P}:build_generic_2d"),
    ),
    axes={"iteration": "iteration", "sample_evals": "sample evaluations", "passes": "passes over the data",
          "updates": "perceptron updates", "n": "n (samples)", "gamma": "step size gamma"},
    benchmarks="optsandbox.classification.bench:cases",
)
