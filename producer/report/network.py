"""The network between producer, broker and workers, read from a document.

:func:`section` gathers what the Celery backends measured (the producer's PINGs to
Redis before and during the run, each worker's own PINGs, reported through
``poolbench_info``) and what the stack says of the links (``--hosts``, ``--link``)
into the document's ``network`` section; :func:`rtt_line` renders it as the -v header's
line and :func:`short_line` as the default screen's. :func:`rtt_notes` are findings
(``broker-bound``), said by :mod:`producer.report.messages`. Older documents have none of
it: each then gives None (or no finding).
"""

from __future__ import annotations

from producer.report.document import finding
from producer.report.table import columns


def _ms(value: float | None) -> str:
    if value is None:
        return "?"
    return f"{value:.2f}" if value < 10 else f"{value:.0f}"


def _pair(rtt: dict | None) -> str | None:
    if not rtt or rtt.get("median_ms") is None:
        return None
    return f"{_ms(rtt['median_ms'])} ms (p99 {_ms(rtt.get('p99_ms'))}, n {rtt.get('n')})"


def section(doc: dict) -> dict | None:
    """``{"producer": {backend: {before, during}}, "workers": [...], "links": {...}}``, or None."""
    producer, workers = {}, []
    for result in doc.get("results", []):
        settings = result.get("settings") or {}
        if "broker_rtt" not in settings:
            continue
        producer[result["backend"]] = settings["broker_rtt"]
        for node, info in (settings.get("nodes") or {}).items():
            if any(w["node"] == node for w in workers):
                continue
            workers.append(
                {
                    "node": node,
                    "host": (info or {}).get("host"),
                    "backend": result["backend"],
                    "broker_rtt": (info or {}).get("broker_rtt"),
                }
            )
    links = (doc.get("stack") or {}).get("network")
    if not producer and not links:
        return None
    return {"producer": producer, "workers": workers, "links": links}


def rtt_line(doc: dict) -> str | None:
    """``broker RTT: producer 0.05 ms (p99 0.09, n 30) before, ... during; workers ...; links ...``."""
    network = doc.get("network")
    if not network:
        return None
    parts = []
    measured = list(network.get("producer", {}).values())
    if measured:
        before = _pair(measured[0].get("before"))
        during = [d for m in measured if (d := m.get("during")) and d.get("median_ms") is not None]
        text = f"producer {before or 'unmeasured'} before"
        if during:
            low = _ms(min(d["median_ms"] for d in during))
            high = _ms(max(d["median_ms"] for d in during))
            p99 = max(d["p99_ms"] for d in during)
            spread = low if low == high else f"{low}-{high}"
            text += f", {spread} ms during (p99 {_ms(p99)}, {sum(d['n'] for d in during)} PINGs)"
        failed = sum((m.get("during") or {}).get("failed", 0) for m in measured)
        if failed:
            text += f", {failed} PING(s) failed"
        parts.append(text)
    workers = network.get("workers") or []
    timed = [w for w in workers if (w.get("broker_rtt") or {}).get("median_ms") is not None]
    if workers:
        hosts = sorted({w.get("host") or "?" for w in workers})
        if timed:
            medians = [w["broker_rtt"]["median_ms"] for w in timed]
            p99 = max(w["broker_rtt"]["p99_ms"] for w in timed)
            spread = (
                _ms(min(medians)) if len(set(medians)) == 1 else f"{_ms(min(medians))}-{_ms(max(medians))}"
            )
            text = f"workers {spread} ms (p99 {_ms(p99)})"
        else:
            text = "workers unmeasured"
        parts.append(f"{text}; {len(workers)} worker(s) on {len(hosts)} host(s): {', '.join(hosts)}")
    links = network.get("links")
    if links and links.get("sweep"):
        asked = ", ".join(f"{link['shape']['rtt_ms']:g}" for link in links["sweep"])
        parts.append(f"links: {links.get('method')} at rtt {asked} ms, a stack each, in {links.get('range')}")
    elif links:
        shape = links.get("shape") or {}
        added = f"rtt {shape.get('rtt_ms', 0):g} ms" + (
            f", jitter {shape['jitter_ms']:g} ms" if shape.get("jitter_ms") else ""
        )
        parts.append(f"links: {links.get('method')} ({added}) in namespaces {links.get('range')}")
    return "broker RTT: " + "; ".join(parts) if parts else None


def worker_rtt_ms(result: dict) -> float | None:
    """The median of its workers' own round trips to the broker (None: unmeasured)."""
    medians = [
        rtt["median_ms"]
        for info in ((result.get("settings") or {}).get("nodes") or {}).values()
        if (rtt := (info or {}).get("broker_rtt")) and rtt.get("median_ms") is not None
    ]
    return sorted(medians)[len(medians) // 2] if medians else None


def _slot_gap(result: dict) -> float | None:
    """A slot's median idle time between tasks, in seconds, when each task was a message of its
    own (with --chunks the calls of one message follow without a round trip: None)."""
    b = result.get("breakdown") or {}
    if b.get("messages") != b.get("calls"):
        return None
    return (b.get("slot_gap_s") or {}).get("median")


def share(result: dict, least: float = 0.1) -> str | None:
    """``network: at 4.1 ms RTT ...``: the least of a slot's idle time between tasks that the
    broker's round trips take (:data:`producer.measure.breakdown.ROUND_TRIPS`), said only when
    it is at least ``least`` of that time (on loopback it is not worth a line)."""
    from producer.measure.breakdown import ROUND_TRIPS

    rtt, gap = worker_rtt_ms(result), _slot_gap(result)
    if rtt is None or not gap:
        return None
    floor_ms = ROUND_TRIPS["slot_gap_s"] * rtt
    if floor_ms < least * gap * 1e3 or floor_ms > gap * 1e3:
        return None
    counts = ", ".join(f"{name} {ROUND_TRIPS[key]}" for key, name in _NAMES.items())
    return (
        f"network: at {_ms(rtt)} ms broker RTT (the workers' median), at least {_ms(floor_ms)} ms of the "
        f"{_ms(gap * 1e3)} ms a slot idles between tasks goes to round trips (fewest per task: {counts})"
    )


_NAMES = {
    "publish_s": "publish",
    "queue_wait_s": "queue",
    "result_back_s": "result back",
    "slot_gap_s": "slot idle",
}


def short_line(doc: dict) -> str | None:
    """The default screen's one line: ``broker RTT: producer 4.3 ms (p99 14), 2 workers 4.1 ms;
    link rtt 4 ms``.

    The producer's median during the run (before it, if no PING was timed during), the
    workers' medians, and the link asked for; None where no Celery backend measured it."""
    network = doc.get("network")
    if not network:
        return None
    measured = list((network.get("producer") or {}).values())
    during = [d for m in measured if (d := m.get("during")) and d.get("median_ms") is not None]
    before = [b for m in measured if (b := m.get("before")) and b.get("median_ms") is not None]
    parts = []
    if during or before:
        timed = during or before
        p99 = max(d["p99_ms"] for d in timed)
        when = " before the run" if not during else ""
        parts.append(f"producer {_spread([d['median_ms'] for d in timed])} ms (p99 {_short(p99)}){when}")
    workers = [w["broker_rtt"]["median_ms"] for w in network.get("workers") or [] if _timed(w)]
    if workers:
        many = "s" if len(workers) > 1 else ""
        parts.append(f"{len(workers)} worker{many} {_spread(workers)} ms")
    links = network.get("links") or {}
    shape = links.get("shape") or {}
    relayed = links.get("method") == "relay" and "rtt_ms" in shape
    jitter = f" ±{shape['jitter_ms']:g}" if shape.get("jitter_ms") else ""
    link = f"; link rtt {shape['rtt_ms']:g}{jitter} ms" if relayed else ""
    if links.get("sweep"):  # sweep --link-rtt: a stack per round trip; the producer's PINGs at -v
        asked = ", ".join(f"{x['shape']['rtt_ms']:g}" for x in links["sweep"])
        parts, link = [p for p in parts if not p.startswith("producer")], f"; links rtt {asked} ms"
    hosts = "; --hosts" if links and not link else ""
    return "broker RTT: " + ", ".join(parts) + link + hosts if parts else None


def _short(value: float) -> str:
    """Two significant digits or so: 0.05, 4.3, 14."""
    return f"{value:.2f}" if value < 1 else f"{value:.1f}" if value < 10 else f"{value:.0f}"


def _spread(medians: list[float]) -> str:
    low, high = _short(min(medians)), _short(max(medians))
    return low if low == high else f"{low}-{high}"


def _timed(worker: dict) -> bool:
    return (worker.get("broker_rtt") or {}).get("median_ms") is not None


def rtt_notes(doc: dict) -> list[dict]:
    """Verdict notes: below which task length a Celery pool is broker-bound at the measured RTT.

    A slot's idle time between tasks holds at least ROUND_TRIPS["slot_gap_s"] round trips
    (the floor). A task whose run is shorter than ``2 x floor - idle`` spends most of its
    slot's time (run + idle) on round trips, whatever else the idle time holds; said only
    when that length is positive and the RTT is beyond loopback's (0.5 ms). The pick of
    the pool is never changed here."""
    from producer.measure.breakdown import ROUND_TRIPS

    notes = []
    for result in doc.get("results", []):
        rtt, gap = worker_rtt_ms(result), _slot_gap(result)
        if rtt is None or rtt < 0.5 or not gap:
            continue
        floor_s = ROUND_TRIPS["slot_gap_s"] * rtt / 1e3
        below_s = 2 * floor_s - gap
        if below_s <= 0 or floor_s > gap:
            continue
        notes.append(
            finding(
                "broker-bound",
                "info",
                backend=result["backend"],
                rtt_ms=rtt,
                below_ms=below_s * 1e3,
                floor_ms=floor_s * 1e3,
                gap_ms=gap * 1e3,
            )
        )
    return notes


def broker_bound(f: dict) -> str:
    """The sentence of a ``broker-bound`` finding (:mod:`producer.report.messages`)."""
    return (
        f"{f['backend']}: at {_ms(f['rtt_ms'])} ms broker RTT, tasks under {_ms(f['below_ms'])} ms "
        f"spend most of their pool slot's time on the network (at least {_ms(f['floor_ms'])} ms "
        f"of round trips in the {_ms(f['gap_ms'])} ms a slot idles between tasks): "
        "--chunks N pays that once per N calls"
    )


def first_rtt(f: dict) -> str:
    """The sentence of a ``link-sweep-first-rtt`` finding (``sweep --link-rtt``)."""
    return f"The verdict reads the Celery points at {f['rtt_ms']:g} ms, the first round trip measured."


def link_sweep_rows(doc: dict) -> tuple[str, list[tuple[str, ...]]] | None:
    """For ``sweep --link-rtt``: its sentence, and a table (titles first), one row per series
    and round trip. Throughput is the tasks over the median batch, with the rounds' range;
    makespan the median batch with its IQR."""
    sweep = doc.get("link_sweep")
    if not sweep:
        return None
    rows = [("series", "RTT (measured)", "tasks/s [range]", "makespan (IQR)")]
    for name, points in sweep["series"].items():
        for p in points:
            if not p["throughput"]:
                rows.append((name, f"{p['rtt_asked_ms']:g} ms", "not measured", ""))
                continue
            low, high = p.get("throughput_low"), p.get("throughput_high")
            spread = f" [{low:.0f}-{high:.0f}]" if low and high else ""
            rows.append(
                (
                    name,
                    f"{p['rtt_asked_ms']:g} ms ({_ms(p['rtt_measured_ms'])})",
                    f"{p['throughput']:.0f}{spread}",
                    f"{_ms(p['makespan_s'] * 1e3)} ms ({_ms((p['makespan_iqr_s'] or 0) * 1e3)})",
                )
            )
    said = (
        f"Against the broker's round trip, {sweep['tasks']} tasks per batch: RTT = the relay's "
        "round trip on every path to Redis, measured = the workers' median PING (ms)."
    )
    return said, rows


def link_sweep_lines(doc: dict) -> list[str]:
    """The link sweep's sentence, then its table in columns (within 80 for the usual series)."""
    found = link_sweep_rows(doc)
    if not found:
        return []
    said, rows = found
    return [said, *columns(rows)]
