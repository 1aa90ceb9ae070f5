"""Print every fact table of a run, and its fingerprint, as JSON:
`python -m tests.dump_tables DSN DATABASE RUN`.

chdb opens one engine path per process, so tests read another process's database this way."""

from __future__ import annotations

import json
import sys

from sinks.clickhouse.client import connect
from sinks.store.fingerprint import run_fingerprint
from tests.flows_support import table_rows

if __name__ == "__main__":
    dsn, database, run = sys.argv[1:4]
    client = connect(dsn, database)
    rows = table_rows(client, run)
    dumped: dict[str, object] = {
        table: [[str(v) for v in row] for row in found] for table, found in rows.items()
    }
    dumped["fingerprint"] = run_fingerprint(client, run)
    print(json.dumps(dumped))
