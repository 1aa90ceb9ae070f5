"""One short backtest with options, Greeks and snapshots, start to finish in this process:
`python -m tests.determinism_run DATA_DIR [PROCESSES [WORKERS]]` prints its fingerprint and
every table as JSON.

The ticks are simulated here too (the simulator's maths is part of what must not depend on
the CPU), written to a Parquet file and replayed with the demo's accounts, two of which trade
options. tests/flows/runs/test_determinism.py runs it under different numpy SIMD levels."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from flows.runs.backtest import Source, run_backtest
from flows.runs.demo import SESSION_DAY, SYMBOLS, demo_configs
from flows.sim.simulator import SimParams, simulate_session
from schemas.settings import Settings
from sinks.clickhouse.client import connect
from tests.flows_support import table_rows


def write_ticks(path: Path) -> None:
    ticks, _ = simulate_session(SYMBOLS, SESSION_DAY, SimParams(ticks_per_minute=8))
    symbols = np.array(ticks.symbols)[ticks.codes]
    table = pa.table(
        {
            "ts": ticks.ts,
            "symbol": symbols,
            "bid": ticks.bid,
            "ask": ticks.ask,
            "last": ticks.last,
            "volume": ticks.volume,
        }
    )
    pq.write_table(table, path)


if __name__ == "__main__":
    data_dir = Path(sys.argv[1])
    data_dir.mkdir(parents=True, exist_ok=True)
    file = data_dir / "ticks.parquet"
    write_ticks(file)
    settings = Settings(data_dir=data_dir, clickhouse_dsn=f"chdb://{data_dir / 'clickhouse'}")
    processes = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    workers = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    result = run_backtest(
        settings,
        demo_configs(),
        Source(file=file),
        run_id="determinism",
        processes=processes,
        workers=workers,
    )
    client = connect(settings.dsn, settings.clickhouse_database)
    tables = table_rows(client, "determinism")
    del tables["backtest_runs"]  # its created/updated times are wall-clock bookkeeping
    dumped: dict[str, object] = {}
    for name, rows in tables.items():
        lines = [repr(row) for row in rows]
        if len(lines) > 20_000:  # option_greeks: its digest (of repr, not the fingerprint's TSV)
            dumped[name] = [len(lines), hashlib.sha256("\n".join(lines).encode()).hexdigest()]
        else:
            dumped[name] = lines
    print(json.dumps({"fingerprint": result.run.fingerprint, "tables": dumped}))
