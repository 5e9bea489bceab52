"""Counter-based normal deviates: one reproducible stream per (seed, step, particle), whatever the thread.

Numba's ``np.random`` keeps one state per thread, and seeding it from the serial part does not fix the
states of the worker threads, so noise drawn inside ``prange`` would change with the thread count. Here a
deviate is a pure function of its coordinates: the key of particle p at step k is
``mix(seed, k, p)`` and its j-th uniform is ``splitmix64(key + (j + 1) * GOLDEN)``; pairs of uniforms are
turned into standard normals by the ziggurat method. A particle's noise therefore does not depend on
which thread draws it, nor on how many runs share the kernel call (DESIGN rule 6).

SplitMix64 (Steele, Lea and Flood 2014) is a bijective 64-bit finalizer with full avalanche, used here as
a keyed hash; tests check the first four moments and the independence of neighbouring streams.
"""
import numpy as np
from numba import float64, int64, njit, types, uint64, void

GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_INV_2_53 = 1.0 / 9007199254740992.0


@njit(uint64(uint64), cache=True)
def splitmix64(z):
    """Return the SplitMix64 finalizer of z (a bijection of the 64-bit integers)."""
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@njit(uint64(int64, int64, int64), cache=True)
def stream_key(seed, step, item):
    """Return the key of the stream of work item ``item`` at step ``step`` of the run seeded ``seed``."""
    k = splitmix64(np.uint64(seed) * GOLDEN + np.uint64(1))
    k = splitmix64(k ^ (np.uint64(step) * _M1 + GOLDEN))
    return splitmix64(k ^ (np.uint64(item) * _M2 + _M1))


@njit(float64(uint64, int64), cache=True)
def uniform(key, j):
    """Return the j-th uniform deviate of the stream ``key``, in the open interval (0, 1)."""
    bits = splitmix64(key + np.uint64(j + 1) * GOLDEN)
    return (float((bits >> _S11)) + 0.5) * _INV_2_53


def _ziggurat_tables(layers: int = 128, r: float = 3.442619855899, v: float = 9.91256303526217e-3):
    """Return (x, ratio) of Marsaglia and Tsang's ziggurat for N(0, 1) (Doornik's 128-layer variant).

    x[0] = v / f(r) is the width of the base strip (rectangle plus tail), x[1] = r, x[layers] = 0, and every
    layer has area v; ratio[i] = x[i + 1] / x[i] is the part of layer i inside the curve for sure.
    """
    x = np.zeros(layers + 1)
    f = np.exp(-0.5 * r * r)
    x[0] = v / f
    x[1] = r
    for i in range(2, layers):
        x[i] = np.sqrt(-2.0 * np.log(v / x[i - 1] + f))
        f = np.exp(-0.5 * x[i] * x[i])
    return x, x[1:] / x[:-1]


_ZIG_X, _ZIG_RATIO = _ziggurat_tables()
_ZIG_R = 3.442619855899
_LOW7 = np.uint64(127)


@njit(types.Tuple((float64, int64))(uint64, int64), cache=True)
def normal(key, counter):
    """Return (z, next counter): a standard normal from the stream's uniforms counter, counter + 1, ...

    Ziggurat (Marsaglia and Tsang 2000, Doornik's 128-layer form): one 64-bit hash gives the layer (its low
    7 bits) and a uniform in (-1, 1) (its high 53 bits); 98.8% of draws end at the first comparison, with no
    logarithm, square root or exponential. The tail beyond r uses Marsaglia's exponential method.
    """
    while True:
        bits = splitmix64(key + np.uint64(counter + 1) * GOLDEN)
        counter += 1
        i = int(bits & _LOW7)
        u = 2.0 * ((float(bits >> _S11) + 0.5) * _INV_2_53) - 1.0
        if abs(u) < _ZIG_RATIO[i]:
            return u * _ZIG_X[i], counter
        if i == 0:
            while True:
                a = np.log(uniform(key, counter)) / _ZIG_R
                b = np.log(uniform(key, counter + 1))
                counter += 2
                if -2.0 * b >= a * a:
                    return (a - _ZIG_R if u < 0.0 else _ZIG_R - a), counter
        z = u * _ZIG_X[i]
        f0 = np.exp(-0.5 * (_ZIG_X[i] * _ZIG_X[i] - z * z))
        f1 = np.exp(-0.5 * (_ZIG_X[i + 1] * _ZIG_X[i + 1] - z * z))
        w = uniform(key, counter)
        counter += 1
        if f1 + w * (f0 - f1) < 1.0:
            return z, counter


@njit(void(uint64, float64[::1]), cache=True)
def fill_normals(key, out):
    """Write the stream's standard normals 0..len(out)-1 into ``out``, consumed in kernel order.

    Kernels draw a particle's coordinates j = 0..d-1 in order from one stream, so this function reproduces
    their noise exactly for tests and NumPy reference implementations.
    """
    counter = 0
    for j in range(out.shape[0]):
        out[j], counter = normal(key, counter)
