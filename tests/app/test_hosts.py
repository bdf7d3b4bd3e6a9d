"""Workers that joined from another host: the producer reports them with their hostnames
and round trips to the broker.

The other host is a network namespace (tests/backends/celery/test_partition.py's ``other_host``) with a
UTS namespace of its own, so that its worker's hostname is its own; it reaches Redis over
the veth link through a relay that gives the link a 2 ms round trip, while the producer
reaches Redis on loopback. The rest is pure logic: the document's ``network`` section and
its header line, from documents old and new.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from producer.report import messages, network
from producer.services.relay import LinkShape, Relay
from tests.backends.celery.test_partition import other_host
from tests.faults import make_backend, private_redis, running_workers

FINDINGS_DOC = (Path(__file__).resolve().parents[2] / "docs" / "FINDINGS.md").read_text()

EDGE = "edge-host-1"


def test_a_worker_from_another_host_is_reported_with_its_hostname_and_rtt(tmp_path):
    with other_host() as (namespace, _link, here), private_redis(tmp_path) as server:
        shape = LinkShape.parse("rtt=2ms")
        with Relay((here, 0), ("127.0.0.1", server.port), shape) as relay:
            far_url = server.url.replace(f"127.0.0.1:{server.port}", f"{here}:{relay.address[1]}")
            on_edge = ["ip", "netns", "exec", namespace, "unshare", "--uts", "--"]
            on_edge += ["sh", "-c", 'hostname "$0" && exec "$@"', EDGE]
            with running_workers(far_url, tmp_path, "threads", prefix=on_edge) as (worker,):
                with make_backend(server.url, "threads") as backend:
                    records = backend.run_batch("sleep", 0, 4)
                    doc = {
                        "results": [{"backend": backend.name, "settings": backend.settings_info()}],
                        "stack": {"embedded": False},
                    }
    assert worker.node.endswith(f"@{EDGE}") and {r["host"] for r in records} == {EDGE}
    section = network.section(doc)
    (joined,) = section["workers"]
    assert joined["host"] == EDGE and joined["node"] == worker.node
    assert joined["broker_rtt"]["n"] == 10 and joined["broker_rtt"]["median_ms"] >= 2.0 - 0.1  # a floor
    producer = section["producer"][backend.name]
    assert (
        producer["before"]["n"] == 30 and producer["before"]["median_ms"] < joined["broker_rtt"]["median_ms"]
    )
    line = network.rtt_line({**doc, "network": section})
    assert line.startswith("broker RTT: producer ") and f"1 worker(s) on 1 host(s): {EDGE}" in line


def _doc(rtts: list[float | None], links: dict | None = None) -> dict:
    nodes = {
        f"threads-{i}@h{i}": {
            "host": f"h{i}",
            "broker_rtt": None if r is None else {"n": 10, "median_ms": r, "p99_ms": r * 2},
        }
        for i, r in enumerate(rtts)
    }
    before = {"n": 30, "median_ms": 0.05, "p99_ms": 0.1, "max_ms": 0.1, "failed": 0}
    during = {"n": 12, "median_ms": 0.2, "p99_ms": 1.5, "max_ms": 1.5, "failed": 1}
    settings = {"broker_rtt": {"before": before, "during": during}, "nodes": nodes}
    return {"results": [{"backend": "celery-threads", "settings": settings}], "stack": {"network": links}}


def test_the_header_line_gives_each_figure_with_its_spread_and_count():
    doc = _doc(
        [2.1, 2.4], {"method": "relay", "shape": {"rtt_ms": 2.0, "jitter_ms": 0.2}, "range": "10.213.5.0/24"}
    )
    doc["network"] = network.section(doc)
    line = network.rtt_line(doc)
    assert line == (
        "broker RTT: producer 0.05 ms (p99 0.10, n 30) before, 0.20 ms during (p99 1.50, 12 PINGs), "
        "1 PING(s) failed; workers 2.10-2.40 ms (p99 4.80); 2 worker(s) on 2 host(s): h0, h1; "
        "links: relay (rtt 2 ms, jitter 0.2 ms) in namespaces 10.213.5.0/24"
    )


def test_a_worker_that_could_not_say_is_unmeasured_not_zero():
    doc = _doc([None])
    doc["network"] = network.section(doc)
    assert "workers unmeasured; 1 worker(s) on 1 host(s): h0" in network.rtt_line(doc)


def test_documents_without_a_network_give_no_line():
    old = {"results": [{"backend": "threads", "settings": {}}], "stack": None}
    assert network.section(old) is None and network.rtt_line(old) is None


def _result(worker_rtt_ms: float, slot_gap_ms: float) -> dict:
    rtt = {"n": 10, "median_ms": worker_rtt_ms, "p99_ms": worker_rtt_ms}
    return {
        "settings": {"nodes": {"a@h": {"broker_rtt": rtt}}},
        "breakdown": {"slot_gap_s": {"median": slot_gap_ms / 1e3}, "messages": 10, "calls": 10},
    }


def test_the_breakdown_names_the_network_share_only_where_it_counts():
    far = network.share(_result(4.0, 28.0))
    assert far.startswith(
        "network: at 4.00 ms broker RTT (the workers' median), at least 8.00 ms of the 28 ms"
    )
    assert "publish 1, queue 1, result back 1, slot idle 2" in far
    assert network.share(_result(0.05, 2.2)) is None  # loopback: 0.1 ms of 2.2 ms is not worth a line
    assert network.share({"settings": {}, "breakdown": None}) is None


def test_the_verdict_names_the_task_length_below_which_a_pool_is_broker_bound():
    doc = {"results": [{"backend": "celery-prefork", **_result(4.0, 10.0)}]}
    (note,) = network.rtt_notes(doc)
    # a slot's time per task is run + 10 ms idle, of which at least 8 ms round trips: most of
    # it for runs under 2 x 8 - 10 = 6 ms
    assert note["code"] == "broker-bound" and note["severity"] == "info"
    assert note["below_ms"] == pytest.approx(6.0) and note["rtt_ms"] == 4.0
    said = messages.render(note)
    assert said.startswith("celery-prefork: at 4.00 ms broker RTT, tasks under 6.00 ms spend most")
    assert "FINDINGS" not in said and "broker-bound" in FINDINGS_DOC
    assert network.rtt_notes({"results": [{"backend": "x", **_result(0.05, 2.0)}]}) == []  # loopback
    assert network.rtt_notes({"results": [{"backend": "x", **_result(4.0, 30.0)}]}) == []  # floor too small


def test_diff_says_when_one_run_had_hosts_and_a_link():
    from producer.report.diff import _differences

    machine = {"hostname": "vm"}
    loopback = {"settings": {"concurrency": 2}, "machine": machine}
    far = {"settings": {"concurrency": 2, "hosts": True, "link": "rtt 2 ms"}, "machine": machine}
    assert _differences(loopback, far) == ["hosts: None -> True", "link: None -> rtt 2 ms"]
    assert _differences(loopback, loopback) == []  # older documents have neither: no difference


def test_chunked_rows_get_no_network_share_their_calls_follow_without_round_trips():
    chunked = _result(4.0, 0.05)
    chunked["breakdown"].update(messages=2, calls=20)
    assert network.share(chunked) is None
    assert network.rtt_notes({"results": [{"backend": "x", **chunked}]}) == []
    # a gap shorter than the floor contradicts it (clocks, noise): nothing is claimed
    assert network.share(_result(4.0, 5.0)) is None


def test_the_link_sweep_chart_draws_throughput_and_makespan_against_rtt():

    pytest.importorskip("matplotlib")
    from producer.report import plot

    def point(rtt, wall):
        return {
            "rtt_asked_ms": rtt,
            "rtt_measured_ms": rtt + 0.05,
            "makespan_s": wall,
            "makespan_iqr_s": 0.01,
            "throughput": 40 / wall,
            "throughput_low": 40 / (wall * 1.1),
            "throughput_high": 40 / (wall * 0.95),
            "ok": True,
            "label": f"x @{rtt}ms",
        }

    series = {
        "celery-threads": [point(0, 0.08), point(4, 0.56)],
        "celery-threads chunks 10": [point(0, 0.016)],
    }
    doc = {
        "link_sweep": {"rtts_ms": [0, 4], "tasks": 40, "series": series},
        "workload": {"name": "sleep", "size": 0},
    }
    png = plot.render(doc)
    assert png.startswith(b"\x89PNG") and plot.render(doc, image_format="svg").lstrip().startswith(b"<?xml")


def _link_sweep_doc() -> dict:
    def point(rtt, measured, walls):
        return {
            "rtt_asked_ms": rtt,
            "rtt_measured_ms": measured,
            "makespan_s": sorted(walls)[1],
            "makespan_iqr_s": max(walls) - min(walls),
            "throughput": 100 / sorted(walls)[1],
            "throughput_low": 100 / max(walls),
            "throughput_high": 100 / min(walls),
            "ok": True,
            "label": f"x @{rtt}ms",
        }

    series = {
        "celery-prefork": [point(0, 0.06, [0.21, 0.23, 0.38]), point(20, 20.2, [6.9, 7.1, 7.3])],
        "celery-prefork chunks 20": [
            point(0, 0.06, [0.026, 0.027, 0.03]),
            point(20, 20.2, [0.44, 0.45, 0.5]),
        ],
    }
    return {"link_sweep": {"rtts_ms": [0, 20], "tasks": 100, "series": series}}


def test_the_link_sweep_table_fits_80_columns_with_each_points_spread():
    sentence, *table = network.link_sweep_lines(_link_sweep_doc())
    assert sentence.startswith("Against the broker's round trip, 100 tasks per batch")
    assert table[0].split() == ["series", "RTT", "(measured)", "tasks/s", "[range]", "makespan", "(IQR)"]
    # 100 tasks over the median batch [over the slowest - over the fastest]; median batch (IQR)
    assert table[1].split() == [
        "celery-prefork",
        "0",
        "ms",
        "(0.06)",
        "435",
        "[263-476]",
        "230",
        "ms",
        "(170)",
    ]
    assert table[4].split()[:6] == ["celery-prefork", "chunks", "20", "20", "ms", "(20)"]
    assert max(len(line) for line in table) <= 80


def test_the_link_sweep_table_is_in_the_html_and_markdown_reports():
    from producer.report import html, markdown

    doc = _link_sweep_doc()
    _, rows = network.link_sweep_rows(doc)
    page = html._link_sweep(doc)
    assert page[0] == "<h2>Against the broker's round trip</h2>" and len(page) == 3 + len(rows)
    assert "<td>435 [263-476]</td>" in page[3]
    text = markdown._link_sweep(doc)
    assert text[3] == "| series | RTT (measured) | tasks/s [range] | makespan (IQR) |"
    assert "| 435 [263-476] |" in text[5] and len(text) == 4 + len(rows)
    assert html._link_sweep({"results": []}) == markdown._link_sweep({"results": []}) == []


def _network_doc(links=None) -> dict:
    rtt = {"median_ms": 0.05, "p99_ms": 0.09, "n": 30}
    return {
        "network": {
            "producer": {"celery-threads": {"before": rtt, "during": {**rtt, "median_ms": 0.06}}},
            "workers": [{"node": "n1", "host": "vm", "backend": "celery-threads", "broker_rtt": rtt}],
            "links": links,
        }
    }


def test_the_default_screen_says_the_broker_rtt_in_one_line_only_for_celery_runs():
    assert network.short_line(_network_doc()) == (
        "broker RTT: producer 0.06 ms (p99 0.09), 1 worker 0.05 ms"
    )  # loopback: no link named
    relayed = {"method": "relay", "shape": {"rtt_ms": 4.0, "jitter_ms": 0.0}}
    assert network.short_line(_network_doc(relayed)).endswith("; link rtt 4 ms")
    direct = {"method": "none", "shape": {"rtt_ms": 0.0, "jitter_ms": 0.0}}
    assert network.short_line(_network_doc(direct)).endswith("; --hosts")
    assert network.short_line({"results": []}) is None  # a local run, or a document older than RTTs
    unmeasured = {"network": {"producer": {}, "workers": [], "links": None}}
    assert network.short_line(unmeasured) is None
