"""Shared jitted pieces: stable scalar functions, record schedules, status codes, projections.

Everything here is a module-level ``@njit(SIGNATURE, cache=True)`` function, safe to call from any
family's kernels. A family never imports another family; what two families share lives here.
"""
