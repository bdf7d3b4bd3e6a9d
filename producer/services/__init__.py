"""Processes and servers that poolbench starts: a supervised child, a Redis server, the
environment and interpreter they get. Nothing here knows a backend or a family."""
