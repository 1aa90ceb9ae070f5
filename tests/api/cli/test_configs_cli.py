"""`strikeflow configs apply / list / disable` on the embedded ClickHouse, each a real CLI
process (chdb needs a process of its own per database path), and what the live flow then loads."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.api.cli.test_cli_runs import run_cli

pytestmark = pytest.mark.integration

ACCOUNTS = [
    {
        "account_id": "cli-trend",
        "symbols": ["AAPL", "MSFT"],
        "strategy": {"kind": "ma_cross", "fast": 10, "slow": 50},
    },
    {"account_id": "cli-rsi", "symbols": ["SPY"], "strategy": {"kind": "rsi_reversion"}},
]

LOAD = (
    "import json; from schemas.settings import Settings; "
    "from flows.runs.live import load_accounts; "
    "configs, _ = load_accounts(Settings()); "
    "print(json.dumps([[c.account_id, c.version, c.enabled] for c in configs]))"
)


def live_accounts(data_dir: Path) -> list[list[object]]:
    """What `python -m bytewax.run flows.live:flow` would trade, read as the flow reads it."""
    env = {"STRIKEFLOW_DATA_DIR": str(data_dir)}
    environment = {k: v for k, v in os.environ.items() if not k.startswith("STRIKEFLOW_")}
    done = subprocess.run(
        [sys.executable, "-c", LOAD],
        env={**environment, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    loaded: list[list[object]] = json.loads(done.stdout)
    return loaded


def test_applied_configs_are_versioned_listed_disabled_and_loaded_by_the_live_flow(
    tmp_path: Path,
) -> None:
    file = tmp_path / "accounts.yaml"
    file.write_text(yaml.safe_dump(ACCOUNTS))
    first = run_cli(["configs", "apply", str(file)], tmp_path)
    assert first.returncode == 0, first.stderr[-2000:]
    assert "cli-trend: version 1 stored" in first.stderr
    assert run_cli(["configs", "apply", str(file)], tmp_path).returncode == 0
    assert live_accounts(tmp_path) == [["cli-rsi", 2, True], ["cli-trend", 2, True]]

    disabled = run_cli(["configs", "disable", "cli-rsi"], tmp_path)
    assert disabled.returncode == 0, disabled.stderr[-2000:]
    assert "cli-rsi: version 3 stored, disabled" in disabled.stderr
    assert live_accounts(tmp_path) == [["cli-trend", 2, True]]

    listed = run_cli(["configs", "list", "--all"], tmp_path, COLUMNS="120")
    assert listed.returncode == 0, listed.stderr[-2000:]
    rows = [line for line in listed.stdout.splitlines() if "cli-" in line]
    assert len(rows) == 2
    assert "cli-rsi" in rows[0]
    assert " 3 " in rows[0]
    assert "no" in rows[0]
    assert "AAPL, MSFT" in rows[1]
    enabled_only = run_cli(["configs", "list"], tmp_path, COLUMNS="120")
    assert "cli-rsi" not in enabled_only.stdout


BAD_FILES = [
    ("account_id: x\nsymbols: [AAPL, AAPL]\n", "symbols must not repeat"),
    ("account_id: x\nsymbols: [AAPL]\nstarting_cash: .nan\n", "starting_cash"),
    ("account_id: x\nsymbols: [AAPL]\nversion: 7\n", "the store numbers versions"),
    ("symbols: [AAPL]\n", "has no account_id"),
    ("- 3\n", "is not a mapping"),
    ("account_id: [unclosed\n", "accounts.yaml"),
    # one good config and one bad: neither is stored
    (yaml.safe_dump([ACCOUNTS[0], {**ACCOUNTS[1], "symbols": []}]), "config 2: symbols"),
]


def test_a_bad_file_is_refused_whole_with_one_clear_message(tmp_path: Path) -> None:
    """Every bad file against one data directory, which then holds no config at all (the
    store is read once, at the end: each read is a process opening the embedded engine)."""
    file = tmp_path / "accounts.yaml"
    for content, message in BAD_FILES:
        file.write_text(content)
        done = run_cli(["configs", "apply", str(file)], tmp_path, COLUMNS="200")
        assert done.returncode == 2, content
        assert message in done.stderr, (content, done.stderr)
        assert "Traceback" not in done.stderr, content
    assert live_accounts(tmp_path) == []


def test_disabling_an_unknown_account_says_so(tmp_path: Path) -> None:
    done = run_cli(["configs", "disable", "nobody"], tmp_path)
    assert done.returncode == 1
    assert "no config for nobody" in done.stderr
