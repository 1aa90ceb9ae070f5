"""`strikeflow db migrate` creates every table on a new chdb path, and a second run changes nothing.

Runs the real CLI in a subprocess: chdb opens one engine path per process, and this test needs
a path of its own.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from schemas.tables import TABLE_MODELS, table_of

pytestmark = pytest.mark.integration

LIST_TABLES = """
import sys
from sinks.clickhouse.client import connect
client = connect(sys.argv[1], "strikeflow")
rows = client.query("SELECT name, metadata_modification_time FROM system.tables "
                    "WHERE database = 'strikeflow' ORDER BY name").result_rows
print("\\n".join(f"{name} {when}" for name, when in rows))
"""


def _run(args: list[str], data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "STRIKEFLOW_DATA_DIR": str(data_dir)}
    env.pop("STRIKEFLOW_CLICKHOUSE_DSN", None)
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=120, check=False)


def test_migrate_creates_all_tables_then_changes_nothing(tmp_path: Path) -> None:
    strikeflow = [sys.executable, "-m", "api"]
    first = _run([*strikeflow, "db", "migrate"], tmp_path)
    assert first.returncode == 0, first.stderr
    assert "applied 0001_initial" in first.stderr

    dsn = f"chdb://{(tmp_path / 'clickhouse').resolve()}"
    before = _run([sys.executable, "-c", LIST_TABLES, dsn], tmp_path)
    assert before.returncode == 0, before.stderr
    tables = {line.split()[0] for line in before.stdout.splitlines()}
    assert tables == {table_of(model) for model in TABLE_MODELS} | {"schema_migrations"}

    second = _run([*strikeflow, "db", "migrate"], tmp_path)
    assert second.returncode == 0, second.stderr
    assert "up to date" in second.stderr
    after = _run([sys.executable, "-c", LIST_TABLES, dsn], tmp_path)
    assert after.stdout == before.stdout
