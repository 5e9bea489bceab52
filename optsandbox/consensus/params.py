"""Parameters of the family's problems and algorithms: plain metadata (no numpy), shared by the catalog."""
import math

from ..api import Param

INIT_PARAMS = (
    Param("init", "gaussian", "initial law rho_0 of the particles", choices=("gaussian", "uniform")),
    Param("init_mean", 2.0, "gaussian rho_0: mean m_0 = init_mean * v (see init_direction)"),
    Param("init_direction", "half", "v = first ceil(d/2) entries 1/sqrt(ceil(d/2)) (FKR) or all ones",
          choices=("half", "ones")),
    Param("init_std", math.sqrt(32.0), "gaussian rho_0: standard deviation per coordinate (FKR: sqrt(32))",
          minimum=0.0),
    Param("init_low", -3.0, "uniform rho_0: lower end of every coordinate"),
    Param("init_high", 3.0, "uniform rho_0: upper end of every coordinate"),
)
COMMON = (Param("dim", 8, "dimension d", minimum=1),
          Param("shift", 0.0, "minimizer drawn from U[-shift, shift]^d (0: at the origin)", minimum=0.0)
          ) + INIT_PARAMS


PROBLEM_PARAMS = {
    "rastrigin": COMMON + (Param("A", 10.0, "amplitude of the cosine term", minimum=0.0),
                           Param("c", 0.0, "additive constant (f* = c)")),
    "rastrigin_riedl": COMMON,
    "ackley": COMMON + (Param("a", 20.0, "depth of the exponential well", minimum=0.0),
                        Param("s", 0.2, "radial decay", minimum=0.0)),
    "quadratic": COMMON + (Param("curvature_min", 1.0, "smallest curvature a_i", minimum=0.0),
                           Param("curvature_max", 1.0, "largest curvature a_i", minimum=0.0)),
}
