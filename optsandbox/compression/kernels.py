"""The compression family's kernel: one jitted loop for every compressed-communication method.

``ef_kernel`` runs n simulated clients and one server. Each round t:

1. every client computes its gradient at x_t: g_t^i = grad f_i(x_t) + (sigma / sqrt(d)) xi_t^i,
   xi ~ N(0, I_d), so E||g_t^i - grad f_i(x_t)||^2 = sigma^2 (one gradient per client and round);
2. every client sends one compressed message (the per-method rule below) and the server steps.

Methods (``method``), in the symbols of the family spec (C the compressor, gamma the step):

* GD        x_{t+1} = x_t - gamma mean_i g_t^i                            (uncompressed, 32 d bits)
* CGD       x_{t+1} = x_t - gamma mean_i C(g_t^i)                         (naive compressed GD)
* EF14      p = e^i + gamma g^i;  Delta^i = C(p);  e^i = p - Delta^i;  x -= mean_i Delta^i   ("gamma inside")
* EF21      h_0^i = g_0^i (dense) or C(g_0^i); round 0 sends nothing more; for t >= 1
            h^i += C(g_t^i - h^i); always x_{t+1} = x_t - gamma mean_i h^i
* ECONTROL  h_0^i = g_0^i (dense) or C(g_0^i), e_0^i = 0; every round (round 0 reuses g_0^i)
            Delta^i = C(eta e^i + g^i - h^i);  e^i += g^i - h^i - Delta^i;  h^i += Delta^i;
            x_{t+1} = x_t - gamma mean_i h^i      (= x_t - gamma (h_t + Delta_t))
* ECIDEAL   Delta^i = C(e^i + g^i - h*_i);  e^i += g^i - h*_i - Delta^i;
            x_{t+1} = x_t - gamma (mean_i h*_i + mean_i Delta^i),  h*_i = grad f_i(x*) (known shifts)

Randomness: ``np.random.seed(seed)`` once; per round the noise of client 0, 1, ... is drawn first, then the
compressors draw. With a deterministic compressor (top-k) every method therefore sees the same noise
stream per (client, round) -- common random numbers across methods.

Records (columns ``COLUMNS``), the state x_t at the start of round t: round, gradients per client, bits and
floats sent per client so far, f_gap, grad_norm_sq = ||mean_i grad f_i(x_t)||^2 (exact), its running
average over rounds 0..t, and mean_i ||e_t^i||^2 (the error accumulator, 0 for methods without one).
The kernel stops with STATUS_CONVERGED once f_gap <= ``stop_gap`` (set above the float64 floor of an
exact gap, so that exponential fits never see the rounding plateau), and with a divergence status when x
stops being finite or exceeds 1e100.
"""
import numpy as np
from numba import float64, int64, njit

from ..kernels.compressors import COMPRESSOR_TYPE
from ..kernels.recording import STATUS_BUDGET, STATUS_CONVERGED, STATUS_DIVERGED, due, health
from .oracles import GapType, GradsType

GD = 0
CGD = 1
EF14 = 2
EF21 = 3
ECONTROL = 4
ECIDEAL = 5

COLUMNS = ("iteration", "rounds", "grads", "bits_up", "floats_up", "f_gap", "grad_norm_sq",
           "grad_norm_sq_avg", "error_norm_sq")

_vec = float64[::1]
_mat = float64[:, ::1]


_EF_KERNEL_SIG = int64(int64, GradsType, GapType, COMPRESSOR_TYPE, _vec, _vec, float64, float64, int64, float64,
                       int64, float64, float64, float64, float64, _mat, int64, int64, int64, _mat, int64[::1])


@njit(_EF_KERNEL_SIG, cache=True)
def ef_kernel(method, local_grads, gap, compress, data, x, gamma, eta, k, sigma, init_dense, bits_msg,
              floats_msg, stop_gap, divergence_gap, h_star, iterations, record_every, seed, records, info):
    """Run ``method`` from the x given (overwritten with the last iterate); return the rows written.

    ``info`` receives [rows, status, stop_iteration]. ``h_star`` (n x d) is read by ECIDEAL only.
    ``divergence_gap``: a gap above it stops the run as diverged (0 disables the check).
    """
    n = int(data[1])
    d = int(data[2])
    np.random.seed(seed)
    # all per-client state allocated once, before the loop
    G = np.zeros(n * d)  # exact local gradients at x_t, client-major
    Gn = np.zeros((n, d))  # the gradients the clients use (noise added)
    E = np.zeros((n, d))  # error accumulators e^i
    Hs = np.zeros((n, d))  # learned shifts h^i
    buf = np.zeros(d)
    msg = np.zeros(d)
    step = np.zeros(d)
    idx = np.zeros(d, dtype=np.int64)
    noise_scale = sigma / np.sqrt(d)
    bits = 0.0
    floats = 0.0
    grads = 0.0
    gsum = 0.0
    rows = 0
    status = STATUS_BUDGET
    stop_iteration = iterations
    for t in range(iterations + 1):
        local_grads(x, data, G)
        # measurements of x_t (exact gradients, not counted as oracle calls beyond the one below)
        gn = 0.0
        for j in range(d):
            s = 0.0
            for i in range(n):
                s += G[i * d + j]
            s /= n
            gn += s * s
        gsum += gn
        f_gap = gap(x, data)
        last = t == iterations
        converged = f_gap <= stop_gap
        diverged = divergence_gap > 0.0 and not f_gap <= divergence_gap
        if due(t, record_every) or last or converged or diverged:
            en = 0.0
            for i in range(n):
                for j in range(d):
                    en += E[i, j] * E[i, j]
            row = records[rows]
            row[0] = t
            row[1] = t
            row[2] = grads + (0.0 if last else 1.0)
            row[3] = bits
            row[4] = floats
            row[5] = f_gap
            row[6] = gn
            row[7] = gsum / (t + 1)
            row[8] = en / n
            rows += 1
        if diverged:
            status = STATUS_DIVERGED
            stop_iteration = t
            break
        if converged:
            status = STATUS_CONVERGED
            stop_iteration = t
            break
        if last:
            break
        grads += 1.0
        for i in range(n):
            for j in range(d):
                Gn[i, j] = G[i * d + j]
                if noise_scale > 0.0:
                    Gn[i, j] += noise_scale * np.random.standard_normal()
        step[:] = 0.0
        if method == GD:
            for i in range(n):
                for j in range(d):
                    step[j] += gamma * Gn[i, j]
            bits += 32.0 * d
            floats += d
        elif method == CGD:
            for i in range(n):
                compress(Gn[i], k, idx, msg)
                for j in range(d):
                    step[j] += gamma * msg[j]
            bits += bits_msg
            floats += floats_msg
        elif method == EF14:
            for i in range(n):
                for j in range(d):
                    buf[j] = E[i, j] + gamma * Gn[i, j]
                compress(buf, k, idx, msg)
                for j in range(d):
                    E[i, j] = buf[j] - msg[j]
                    step[j] += msg[j]
            bits += bits_msg
            floats += floats_msg
        elif method == EF21 or method == ECONTROL:
            if t == 0:
                for i in range(n):
                    if init_dense == 1:
                        for j in range(d):
                            Hs[i, j] = Gn[i, j]
                    else:
                        compress(Gn[i], k, idx, msg)
                        for j in range(d):
                            Hs[i, j] = msg[j]
                bits += 32.0 * d if init_dense == 1 else bits_msg
                floats += d if init_dense == 1 else floats_msg
            if method == ECONTROL or t > 0:
                for i in range(n):
                    for j in range(d):
                        buf[j] = Gn[i, j] - Hs[i, j]
                        if method == ECONTROL:
                            buf[j] += eta * E[i, j]
                    compress(buf, k, idx, msg)
                    for j in range(d):
                        if method == ECONTROL:
                            E[i, j] += Gn[i, j] - Hs[i, j] - msg[j]
                        Hs[i, j] += msg[j]
                bits += bits_msg
                floats += floats_msg
            for i in range(n):
                for j in range(d):
                    step[j] += gamma * Hs[i, j]
        else:  # ECIDEAL
            for i in range(n):
                for j in range(d):
                    buf[j] = E[i, j] + Gn[i, j] - h_star[i, j]
                compress(buf, k, idx, msg)
                for j in range(d):
                    E[i, j] = buf[j] - msg[j]
                    step[j] += gamma * (h_star[i, j] + msg[j])
            bits += bits_msg
            floats += floats_msg
        for j in range(d):
            x[j] -= step[j] / n
        bad = health(x)
        if bad != STATUS_BUDGET:
            status = bad
            stop_iteration = t + 1
            break
    info[0] = rows
    info[1] = status
    info[2] = stop_iteration
    return rows
