"""Benchmark: the console's first meaningful paint, and the live feed at 200 events/s.

Run from the repository root:

    .venv/bin/python benchmarks/console_speed.py                  # Markdown section
    .venv/bin/python benchmarks/console_speed.py --loads 5 --seconds 20

What it does:
- starts `strikeflow serve --feed` (API, bundled broker, live flow, simulated feed in one
  process) with a data directory of its own, and creates `--accounts` configs (not started, so
  the only stream events are the ones this benchmark sends);
- paint: in Debian's Chromium (Playwright), logged in once, loads the control center
  `--loads` times in a fresh tab. It reports First Contentful Paint (the browser's own entry)
  and the first meaningful paint: the time from navigation start until the accounts table
  holds its first account row, taken by a MutationObserver in the page and followed by one
  animation frame so the row was painted. Median, min and max over the loads (the first load
  is a cold cache and counted like the rest);
- feed: opens the live feed and produces `--rate` decisions per second for `--seconds` on the
  decisions topic of the bundled broker (valid `Decision` rows, event time = wall clock); the
  API's stream fans them out over the WebSocket like the flow's own. Every second it samples
  the page's counters (received, drawn, waiting to be drawn). It reports the frame time while
  the feed draws (the gaps of an empty animation loop running beside it; the feed's own frames
  follow the stream's bursts) against the same loop before the feed, the script time of each
  drawn frame, the stream's lag (wall clock minus event time of one event in ten as it
  reaches the page: producer, broker, API) and the page's own lag (how long the oldest event
  of each drawn frame waited in the page). A page that keeps up has a backlog that stays
  bounded and a lag that does not grow from the first sixth of the run to the last.
The browser, the server and this producer share the machine's two cores.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from confluent_kafka import Producer

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from api.runtime.broker import free_port  # noqa: E402
from schemas.settings import Settings  # noqa: E402
from schemas.trading import Decision  # noqa: E402

COMMAND = ".venv/bin/python benchmarks/console_speed.py"
TOKEN = "console-speed-benchmark-token"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
STATS_JS = (
    "({received: feedStats.received, rendered: feedStats.rendered, dropped: feedStats.dropped,"
    " rows: document.querySelectorAll('#feed-rows tr').length})"
)
CONNECTED_JS = (
    "window.feedStats && document.querySelector('#feed-status').textContent === 'connected'"
)
# set before any page script runs: when the first account row appears, wait a frame, record
PAINT_PROBE = """
new MutationObserver((changes, observer) => {
  if (document.querySelector('#accounts tbody tr td')) {
    observer.disconnect();
    requestAnimationFrame(() => { window.__meaningfulPaint = performance.now(); });
  }
}).observe(document, { childList: true, subtree: true });
"""


def start_server(data_dir: Path, port: int) -> tuple[subprocess.Popen[bytes], str]:
    """`strikeflow serve --feed`, and the bundled broker's address from its log."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("STRIKEFLOW_")}
    env.update({"STRIKEFLOW_DATA_DIR": str(data_dir), "STRIKEFLOW_API_TOKEN": TOKEN})
    log = data_dir / "serve.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "api", "serve", "--port", str(port), "--feed"],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        found = re.search(r"broker (\S+);", log.read_text())
        if found:
            return process, found.group(1)
        if process.poll() is not None:
            raise RuntimeError(f"serve exited:\n{log.read_text()}")
        time.sleep(0.2)
    raise RuntimeError("serve did not start its broker")


def create_accounts(http: httpx.Client, count: int) -> None:
    for n in range(count):
        answer = http.post(
            "/configs",
            json={
                "account_id": f"paint-{n}",
                "symbols": ["AAPL"],
                "strategy": {"kind": "ma_cross", "fast": 2, "slow": 5},
            },
        )
        answer.raise_for_status()


def poll(tab: Any, condition: str, timeout: float = 30.0) -> None:
    """Wait until `condition` holds in the page. Playwright's wait_for_function evaluates its
    text with eval, which the console's Content-Security-Policy forbids; evaluate does not."""
    deadline = time.monotonic() + timeout
    while not tab.evaluate(condition):
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {condition}")
        time.sleep(0.005)


IDLE_LOOP_JS = """() => new Promise((done) => {
  const gaps = []; let last = 0; const end = performance.now() + 5000;
  const step = (now) => {
    if (last) gaps.push(now - last);
    last = now;
    if (now < end) requestAnimationFrame(step); else done(gaps);
  };
  requestAnimationFrame(step);
})"""


# A loop that does nothing but count frames: while the feed draws, its gaps are the page's
# frame time (a busy main thread delays it); the feed's own frames follow the arrivals.
PROBE_START_JS = """() => {
  window.__probeGaps = []; window.__probeStop = false; let last = 0;
  const step = (now) => {
    if (last) window.__probeGaps.push(now - last);
    last = now;
    if (!window.__probeStop) requestAnimationFrame(step);
  };
  requestAnimationFrame(step);
}"""


def idle_frame_gaps(tab: Any) -> list[float]:
    """Frame gaps of an animation loop that does nothing, for 5 s: what the browser manages on
    this machine at this moment, the yardstick for the feed's frame gaps."""
    gaps: list[float] = tab.evaluate(IDLE_LOOP_JS)
    return gaps


def measure_paint(context: Any, url: str, loads: int) -> tuple[list[float], list[float]]:
    meaningful, contentful = [], []
    context.add_init_script(PAINT_PROBE)
    for _ in range(loads):
        tab = context.new_page()
        tab.goto(f"{url}/console/#/control")
        poll(tab, "window.__meaningfulPaint !== undefined")
        meaningful.append(tab.evaluate("window.__meaningfulPaint"))
        fcp = tab.evaluate(
            "(performance.getEntriesByName('first-contentful-paint')[0] || {}).startTime"
        )
        contentful.append(float(fcp) if fcp is not None else float("nan"))
        tab.close()
    return meaningful, contentful


def decision_row(n: int, now_ms: int) -> bytes:
    return (
        Decision(
            decision_id=f"bench-{n}",
            signal_id=f"bench-s{n}",
            run_id="live",
            account_id=f"paint-{n % 4}",
            ts=now_ms,
            symbol="AAPL",
            instrument="AAPL",
            side="buy" if n % 2 else "sell",
            quantity=10,
            price=190.0 + (n % 100) / 100,
            approved=n % 3 != 0,
            rule="ok" if n % 3 else "cooldown",
            observed=float(n % 60),
            limit=60.0,
            reason="benchmark decision",
            config_version=1,
        )
        .model_dump_json()
        .encode()
    )


def drive_feed(
    tab: Any, bootstrap: str, topic: str, rate: int, seconds: int
) -> list[dict[str, Any]]:
    """Produce `rate` decisions/s for `seconds`, paced per 10 ms; sample the page every second."""
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    samples = []
    start = time.monotonic()
    sent = 0
    next_sample = start + 1
    while (elapsed := time.monotonic() - start) < seconds:
        due = int(elapsed * rate)
        now_ms = int(time.time() * 1000)  # wall-clock ok: event time of a live event
        while sent < due:
            producer.produce(topic, key=f"paint-{sent % 4}", value=decision_row(sent, now_ms))
            sent += 1
        producer.poll(0)
        if time.monotonic() >= next_sample:
            stats = tab.evaluate(STATS_JS)
            stats["second"] = round(time.monotonic() - start)
            stats["sent"] = sent
            samples.append(stats)
            next_sample += 1
        time.sleep(0.01)
    producer.flush(10)
    time.sleep(2)  # the stream's last events reach the page
    samples.append({**tab.evaluate(STATS_JS), "second": seconds, "sent": sent})
    return samples


def report(
    args: argparse.Namespace,
    meaningful: list[float],
    contentful: list[float],
    samples: list[dict[str, Any]],
    frames: tuple[list[float], list[float], list[float]],
    ages: tuple[list[float], list[float]],
    final: dict[str, Any],
) -> None:
    m = np.array(meaningful)
    f = np.array(contentful)
    print("## Console: first paint and the live feed at 200 events/s\n")
    print(
        f"Command (from the repository root): `{COMMAND} --loads {args.loads} "
        f"--seconds {args.seconds} --rate {args.rate}`\n"
    )
    print("| first paint of the control center | median ms | min ms | max ms |")
    print("|---|---:|---:|---:|")
    print(
        f"| first meaningful paint (first account row drawn) | {np.median(m):.0f} | "
        f"{m.min():.0f} | {m.max():.0f} |"
    )
    print(
        f"| First Contentful Paint (browser) | {np.nanmedian(f):.0f} | {np.nanmin(f):.0f} | "
        f"{np.nanmax(f):.0f} |"
    )
    report_feed(args, samples, frames, ages, final)
    print(f"\nLoad average at the end: {os.getloadavg()[0]:.1f} (2 cores, shared).")


def report_feed(
    args: argparse.Namespace,
    samples: list[dict[str, Any]],
    frames: tuple[list[float], list[float], list[float]],
    ages: tuple[list[float], list[float]],
    final: dict[str, Any],
) -> None:
    gaps, draw, idle = frames
    backlog = [s["received"] - s["rendered"] - s["dropped"] for s in samples]
    print(
        f"\nLive feed, {args.rate} decisions/s for {args.seconds} s: sent {samples[-1]['sent']:,}, "
        f"received {final['received']:,}, drawn {final['rendered']:,}, "
        f"folded away unseen (more than 500 behind between two frames) {final['dropped']:,}; "
        f"rows kept {final['rows']}.\n"
    )
    print("| feed | p50 | p99 | max |")
    print("|---|---:|---:|---:|")
    print(
        f"| backlog sampled each second (events waiting to be drawn) | "
        f"{np.percentile(backlog, 50):.0f} | {np.percentile(backlog, 99):.0f} | {max(backlog)} |"
    )
    print(
        f"| frame time ms while the feed draws (gaps of an empty animation loop) | "
        f"{np.percentile(gaps, 50):.1f} | {np.percentile(gaps, 99):.1f} | "
        f"{max(gaps):.1f} |"
    )
    print(
        f"| frame time ms before the feed, same page (baseline) | "
        f"{np.percentile(idle, 50):.1f} | {np.percentile(idle, 99):.1f} | {max(idle):.1f} |"
    )
    print(
        f"| script time per frame (drawing the rows), ms | {np.percentile(draw, 50):.1f} | "
        f"{np.percentile(draw, 99):.1f} | {max(draw):.1f} |"
    )
    labels = (
        "stream lag: age of an event reaching the page (wall clock - event time)",
        "page lag: wait of each frame's oldest event, arrival to drawn",
    )
    for label, found in zip(labels, ages, strict=True):
        for part, rows in (
            ("first", found[: len(found) // 6]),
            ("last", found[-len(found) // 6 :]),
        ):
            print(
                f"| {label}, {part} sixth of the run, ms | {np.percentile(rows, 50):.0f} | "
                f"{np.percentile(rows, 99):.0f} | {max(rows):.0f} |"
            )


def wait_ready(http: httpx.Client) -> None:
    deadline = time.monotonic() + 120
    while True:
        try:
            if http.get("/ready").status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError("serve did not become ready")
        time.sleep(0.5)


def in_browser(args: argparse.Namespace, url: str, bootstrap: str) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
        )
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        login = context.new_page()
        login.goto(f"{url}/console/")
        login.fill("#token", TOKEN)
        login.click("#login button[type=submit]")
        login.wait_for_selector("#nav:not([hidden])")
        login.close()
        meaningful, contentful = measure_paint(context, url, args.loads)
        tab = context.new_page()
        tab.goto(f"{url}/console/#/feed")
        poll(tab, CONNECTED_JS)
        idle = idle_frame_gaps(tab)
        tab.evaluate(PROBE_START_JS)
        samples = drive_feed(tab, bootstrap, Settings().topics.decisions, args.rate, args.seconds)
        final = samples[-1]
        gaps = tab.evaluate("window.__probeStop = true, window.__probeGaps")
        ages = (tab.evaluate("feedStats.arrivalAges"), tab.evaluate("feedStats.waitMs"))
        draw = tab.evaluate("feedStats.drawMs")
        browser.close()
    report(args, meaningful, contentful, samples, (gaps, draw, idle), ages, final)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--loads", type=int, default=9)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--rate", type=int, default=200)
    parser.add_argument("--accounts", type=int, default=4)
    args = parser.parse_args()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="console-speed-") as folder:
        process, bootstrap = start_server(Path(folder), port)
        try:
            auth = {"Authorization": f"Bearer {TOKEN}"}
            with httpx.Client(base_url=url, timeout=30, headers=auth) as http:
                wait_ready(http)
                create_accounts(http, args.accounts)
            in_browser(args, url, bootstrap)
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()


if __name__ == "__main__":
    main()
