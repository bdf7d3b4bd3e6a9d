"""The measurement engine: rounds, verification, statistics, CPU time, the host.

Nothing here knows Celery or prints anything: it runs backends through their common
interface and returns values.
"""
