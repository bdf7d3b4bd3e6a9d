"""``sweep --link-rtt 0,1,4,20ms``: every Celery backend against the broker's round trip.

One embedded ``--hosts`` stack per round trip (Redis and each pool's workers in
namespaces of their own, every path to Redis through the relay at that round trip),
all started before the first batch; then every row runs in the same interleaved
rounds, so drift hits every point alike: the local backends once, each Celery backend
at each round trip, and with ``--chunks N`` each also with one call per message. The
document is the usual result document with a ``link_sweep`` section: per series, each
point's asked and measured round trip, its median batch time (the makespan) and its
throughput. The verdict reads the points at the first round trip only: the pick of a
pool is never changed on the round trip alone; the notes say below which task length a
pool is broker-bound at each measured round trip (:func:`producer.report.network.rtt_notes`).
"""

from __future__ import annotations

import contextlib
import statistics

import workloads
from producer import backends, session
from producer.errors import UsageError
from producer.measure.rounds import Progress, Variant, run_rounds
from producer.report import network
from producer.report.document import Document
from producer.report.verdict import judge
from producer.services.relay import LinkShape, parse_duration
from producer.settings import Settings
from producer.stack import EmbeddedStack

MOST_POINTS = 8


def parse_rtts(text: str) -> list[float]:
    """``0,1,4,20ms`` (bare numbers are milliseconds) -> seconds, in order, without repeats."""
    try:
        values = [parse_duration(part) for part in text.split(",") if part.strip()]
    except ValueError as exc:
        raise UsageError(f"--link-rtt: {exc}") from None
    values = sorted(set(values))
    if not values or len(values) > MOST_POINTS or values[-1] > 1.0:
        raise UsageError(f"--link-rtt takes 1 to {MOST_POINTS} round trips of at most 1 s, e.g. 0,1,4,20ms")
    return values


def from_args(args, environ) -> tuple[Settings, list[float]]:
    """The sweep's settings (as ``compare`` with --hosts, at one concurrency) and its round trips."""
    from producer import cli

    rtts = parse_rtts(args.link_rtt)
    concurrencies = cli.int_list(args.concurrency, "--concurrency", *cli.LIMITS["concurrency"])
    if len(concurrencies) != 1 or args.workers not in ("", "1"):
        raise UsageError(
            "sweep --link-rtt sweeps the round trip: give one --concurrency, and no --workers list"
        )
    args.concurrency, args.workers = concurrencies[0], ""
    args.tasks = args.tasks if args.tasks is not None else 2 * concurrencies[0]
    args.hosts = True
    settings = cli.settings_from_args(args, environ)
    if not any(backends.spec(name).needs_broker for name in settings.backends):
        raise UsageError("sweep --link-rtt moves the broker away: add a celery-* backend to --backends")
    return settings, rtts


def _label(name: str, rtt_s: float, chunks: int) -> str:
    return f"{name} @{rtt_s * 1e3:g}ms" + (f" chunks {chunks}" if chunks > 1 else "")


def run(
    settings: Settings,
    rtts: list[float],
    progress: Progress | None = None,
    status: session.Status | None = None,
) -> Document:
    prepared = session.prepare(settings, status)
    spec = prepared.workload.spec
    allow = [] if workloads.is_builtin(spec) else [spec]
    celery = [name for name in settings.backends if backends.spec(name).needs_broker]
    pools = list(dict.fromkeys(backends.spec(name).pool for name in celery))
    variants = [Variant(n, n, settings) for n in settings.backends if not backends.spec(n).needs_broker]
    points: list[tuple[Variant, float, int]] = []
    links, startup_s = [], 0.0
    with contextlib.ExitStack() as stacks:
        for rtt in rtts:
            at = settings.replace(hosts=True, link=LinkShape(rtt, 0.0))
            if status:
                status(f"starting Redis and {', '.join(pools)} workers behind a {rtt * 1e3:g} ms link...")
            stack = stacks.enter_context(EmbeddedStack(at, pools, allow=allow))
            links.append(stack.describe()["network"])
            startup_s += stack.startup_s or 0.0
            reached = at.replace(broker_url=stack.broker_url)
            for name in celery:
                for chunks in dict.fromkeys([1, settings.chunks]):
                    variant = Variant(_label(name, rtt, chunks), name, reached.replace(chunks=chunks))
                    variants.append(variant)
                    points.append((variant, rtt, chunks))
        runs = run_rounds(settings, spec, prepared.size, progress, variants)
    swept_links = {"method": "relay", "sweep": links, "range": ", ".join(link["range"] for link in links)}
    stack_record = {"embedded": True, "startup_s": startup_s, "network": swept_links}
    doc = session.document(runs, settings, prepared, stack_record)
    doc["link_sweep"] = summarize(doc, variants, points)
    swept = {id(v) for v, _, _ in points}
    first = [
        r for r, v in zip(doc["results"], variants, strict=True) if id(v) not in swept or _at_first(v, points)
    ]
    doc["verdict"] = judge({**doc, "results": [{**r, "backend": _name(r, variants)} for r in first]})
    doc["verdict"]["notes"].insert(
        0, f"The verdict reads the Celery points at {rtts[0] * 1e3:g} ms, the first round trip measured."
    )
    doc["verdict"]["notes"] += network.rtt_notes(doc)
    return doc


def _at_first(variant: Variant, points: list[tuple[Variant, float, int]]) -> bool:
    first = min(rtt for _, rtt, _ in points)
    return any(v is variant and rtt == first and chunks == 1 for v, rtt, chunks in points)


def _name(result: dict, variants: list[Variant]) -> str:
    return next((v.backend for v in variants if v.label == result["backend"]), result["backend"])


def summarize(doc: Document, variants: list[Variant], points: list[tuple[Variant, float, int]]) -> dict:
    """Per series (backend, and chunks), each point: round trip asked and measured, makespan, throughput."""
    tasks = doc["settings"]["tasks"]
    by_label = {result["backend"]: result for result in doc["results"]}
    series: dict[str, list[dict]] = {}
    for variant, rtt, chunks in points:
        result = by_label.get(variant.label) or {}
        walls = (result.get("wall_s") or {}).get("values") or []
        makespan = statistics.median(walls) if walls else None
        name = variant.backend + (f" chunks {chunks}" if chunks > 1 else "")
        series.setdefault(name, []).append(
            {
                "label": variant.label,
                "rtt_asked_ms": rtt * 1e3,
                "rtt_measured_ms": network.worker_rtt_ms(result),
                "makespan_s": makespan,
                "makespan_iqr_s": (result.get("wall_s") or {}).get("iqr"),
                "throughput": tasks / makespan if makespan else None,
                "ok": result.get("ok"),
            }
        )
    return {"rtts_ms": sorted({p[1] * 1e3 for p in points}), "tasks": tasks, "series": series}
