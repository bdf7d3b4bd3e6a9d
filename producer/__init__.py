"""poolbench's producer: the CLI, the execution backends, measurement and reports."""

__version__ = "0.1.0"
