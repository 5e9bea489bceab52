"""optsandbox: recent optimization algorithms as Numba kernels, each measured curve beside its theorem."""
__version__ = "0.1.0"
