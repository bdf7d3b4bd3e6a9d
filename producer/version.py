"""poolbench's version: one line that the engine, the flags and the package all read."""

__version__ = "0.2.0"
