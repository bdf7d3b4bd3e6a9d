"""The local pools' child: a ThreadPoolExecutor or ProcessPoolExecutor fed over a Unix socket.

``python -m producer.traffic.child ADDRESS`` connects to the producer, reads its
settings, starts its pool, warms every slot, says ``ready``, then takes messages:

- ``("task", index, intended)``: submit the call now (never waits for it);
- ``("abandon",)``: cancel every call not started; answer ``("abandoned", [indices])``;
- ``("stop",)``: shut the pool down and exit.

Each finished call goes back as ``("done", index, record)``, the record from
:func:`workloads.run_task` with ``received`` (when this process read the message).
The pool runs here, not in the producer, so a GIL-bound pool starves this process's
reader, as it would starve a Celery threads worker's consumer, and never the generator.
"""

from __future__ import annotations

import os
import queue
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from multiprocessing.connection import Client

from workloads import run_task


def _executor(kind: str, concurrency: int, start_method: str | None):
    if kind == "threads":
        return ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="poolbench-load")
    import multiprocessing

    context = multiprocessing.get_context(start_method) if start_method else None
    return ProcessPoolExecutor(max_workers=concurrency, mp_context=context)


def _warm(pool, concurrency: int, spec: str, size: int) -> None:
    """Every slot runs one call first (a process imports the workload), unmeasured."""
    for future in [pool.submit(run_task, spec, size, None) for _ in range(concurrency)]:
        future.result()


def serve(address: str) -> None:
    conn = Client(address, family="AF_UNIX")
    settings = conn.recv()
    pool = _executor(settings["kind"], settings["concurrency"], settings.get("start_method"))
    _warm(pool, settings["concurrency"], settings["spec"], settings["size"])
    outbox: queue.SimpleQueue = queue.SimpleQueue()

    def sender() -> None:
        while (item := outbox.get()) is not None:
            conn.send(item)

    writer = threading.Thread(target=sender, name="poolbench-load-sender", daemon=True)
    writer.start()
    outbox.put(("ready", {"pid": os.getpid(), "python": sys.version.split()[0]}))
    pending: dict[int, object] = {}
    lock = threading.Lock()

    def finished(index: int, received: float, future) -> None:
        with lock:
            pending.pop(index, None)
        if future.cancelled():
            return
        try:
            record = future.result()
        except BaseException as exc:  # a pool process died: an answer too
            record = {"index": index, "error": {"type": type(exc).__name__, "message": str(exc)}}
        record["received"] = received
        outbox.put(("done", index, record))

    spec, size = settings["spec"], settings["size"]
    try:
        while True:
            message = conn.recv()
            if message[0] == "task":
                received, index = time.time(), message[1]
                future = pool.submit(run_task, spec, size, index)
                with lock:
                    pending[index] = future
                future.add_done_callback(lambda f, i=index, r=received: finished(i, r, f))
            elif message[0] == "abandon":
                with lock:
                    waiting = list(pending.items())
                outbox.put(("abandoned", [index for index, future in waiting if future.cancel()]))
            else:
                break
    except EOFError:
        pass
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
        outbox.put(None)
        writer.join(timeout=5)
        conn.close()


if __name__ == "__main__":
    serve(sys.argv[1])
