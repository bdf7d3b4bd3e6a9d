"""Plain, dependency-free workload functions and the registry that names them.

This package imports nothing from ``producer`` or ``worker``: both import it.
"""

from workloads.registry import (
    BUILTINS,
    Workload,
    WorkloadError,
    canonical,
    is_builtin,
    names,
    resolve,
    spec_of,
)
from workloads.runner import interpreter, run_task

__all__ = [
    "BUILTINS",
    "Workload",
    "WorkloadError",
    "canonical",
    "is_builtin",
    "interpreter",
    "names",
    "resolve",
    "run_task",
    "spec_of",
]
