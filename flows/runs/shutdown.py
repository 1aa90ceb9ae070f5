"""Stopping a running flow on SIGINT (Ctrl-C) or SIGTERM: one line, a clean end, exit 0.

Left to their defaults, SIGINT surfaces inside Bytewax's Rust run loop as a panic backtrace and
a `BytewaxRuntimeError`, and SIGTERM kills the process between two ClickHouse batches. Here
either signal sets the flow's `stop` event instead: every input ends as if it had reached its
end (`flows.stages.inputs`), the operators flush, the sinks write their last batch, Bytewax
takes its final snapshot, and the run returns normally. A second signal while stopping exits
at once (status 130 / 143), for a flow that cannot drain.
"""

from __future__ import annotations

import atexit
import os
import signal
import sys
import threading
from types import FrameType

SIGNALS = (signal.SIGINT, signal.SIGTERM)


def stop_on_signals(what: str, stop: threading.Event | None = None) -> threading.Event:
    """Install the handlers (main thread only; elsewhere they are left alone) and return the
    event they set. `what` names the run in the one line printed on stderr."""
    event = stop if stop is not None else threading.Event()
    if threading.current_thread() is not threading.main_thread():
        return event

    def handle(number: int, frame: FrameType | None) -> None:
        name = signal.Signals(number).name
        if event.is_set():
            print(f"{what}: {name} again, exiting now", file=sys.stderr, flush=True)
            os._exit(128 + number)
        print(f"{what}: {name}, stopping cleanly", file=sys.stderr, flush=True)
        event.set()

    for number in SIGNALS:
        signal.signal(number, handle)
    return event


def exit_with_status_if(failed: threading.Event, status: int) -> None:
    """Make the process exit with `status` if `failed` is set when it ends normally.

    `python -m bytewax.run` returns 0 once the flow has drained; a flow stopped for a failure
    (e.g. a broker that lost its history) must not look like a clean stop to a supervisor.
    """

    def check() -> None:
        if failed.is_set():
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(status)

    atexit.register(check)
