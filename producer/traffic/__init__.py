"""``poolbench load``: latency at an arrival rate, and each pool's capacity (issue 18).

Tasks arrive on a schedule (Poisson or uniform, seeded); an open-loop generator sends
each at its intended time and never waits for results, so a slow pool shows up as
latency, not as fewer tasks sent (no coordinated omission). A step is one rate for
``--duration`` seconds through one backend; its latencies go into an HDR histogram.

    arrivals.py   the schedule of intended send times
    generator.py  the open-loop sender (its lag, its own ceiling)
    histogram.py  latencies in an HDR histogram, precision stated
    steps.py      one step through one target: send, collect, drain, verify, figures
    capacity.py   sustained or saturated, capacity with its interval, the verdict (data)
    local.py child.py  the local threads/processes pools, fed from a child process
    session.py    baseline, targets, rates (a list or auto) -> the document
    document.py   the document's kind, schema version and history
    text.py plot.py html.py flags.py   its report, pictures, HTML and flags

The Celery side is :mod:`producer.backends.celery.traffic`.
"""
