"""What the console needs beyond the record listings: equity and drawdown series, rejections
over time, and tick files (list, upload), against a real server and chdb."""

from __future__ import annotations

import pytest
from clickhouse_connect.driver.client import Client

from api import datafiles
from api.datafiles import MAX_UPLOAD_BYTES
from sinks.store.rows import insert
from tests.api.test_api_server import Api
from tests.sinks.test_store import decision, signal, snapshot

pytestmark = pytest.mark.integration

T0 = 1_795_000_000_000


def test_equity_series_carries_drawdown_from_the_running_peak(api: Api, module_ch: Client) -> None:
    equities = [100.0, 110.0, 99.0, 121.0]
    rows = [snapshot("eq", "alice", T0 + i * 1000, "", e) for i, e in enumerate(equities)]
    rows.append(snapshot("eq", "alice", T0, "AAPL", 100.0))  # a position row is not the account's
    rows.append(snapshot("eq", "bob", T0, "", 50.0))
    insert(module_ch, rows)
    answer = api.http.get("/series/equity", params={"run": "eq"})
    assert answer.status_code == 200, answer.text
    series = {s["account_id"]: s["points"] for s in answer.json()}
    assert sorted(series) == ["alice", "bob"]
    alice = series["alice"]
    assert [p["ts"] for p in alice] == [T0 + i * 1000 for i in range(4)]
    assert [p["equity"] for p in alice] == equities
    assert alice[0]["drawdown"] == 0
    assert alice[1]["drawdown"] == 0
    assert alice[2]["drawdown"] == pytest.approx(1 - 99 / 110)
    assert alice[3]["drawdown"] == 0


def test_equity_series_is_sampled_to_the_points_asked_and_keeps_the_newest(
    api: Api, module_ch: Client
) -> None:
    insert(module_ch, [snapshot("many", "carol", T0 + i * 1000, "", 100.0 + i) for i in range(101)])
    points = api.http.get("/series/equity", params={"run": "many", "points": 10}).json()[0][
        "points"
    ]
    assert len(points) <= 12
    assert points[0]["ts"] == T0
    assert points[-1]["ts"] == T0 + 100_000
    assert api.http.get("/series/equity", params={"points": 1}).status_code == 422


def test_rejections_over_time_count_each_rule_per_bucket(api: Api, module_ch: Client) -> None:
    seeds = [
        (0, "cooldown"),
        (10_000, "cooldown"),
        (20_000, "max_daily_loss"),
        (61_000, "cooldown"),
    ]
    start = T0 - T0 % 60_000 + 60_000  # a minute's first millisecond
    signals = [signal("rj", "dave", i, ts=start + offset) for i, (offset, _) in enumerate(seeds)]
    decisions = [decision(s, False, rule) for s, (_, rule) in zip(signals, seeds, strict=True)]
    decisions.append(decision(signal("rj", "dave", 99, ts=start), True, "ok"))
    insert(module_ch, list(signals))
    insert(module_ch, list(decisions))
    answer = api.http.get("/series/rejections", params={"run": "rj", "bucket_seconds": 60})
    assert answer.status_code == 200, answer.text
    found = [(b["ts"] - start, b["rule"], b["rejected"]) for b in answer.json()]
    assert found == [(0, "cooldown", 2), (0, "max_daily_loss", 1), (60_000, "cooldown", 1)]


def test_tick_files_are_listed_and_uploaded_inside_the_data_directory(api: Api) -> None:
    data = api.settings.data_dir
    (data / "day.csv").write_text("timestamp,symbol,bid,ask,last,volume\n")
    (data / "api-token").write_text("not a tick file\n")
    body = b"timestamp,symbol,bid,ask,last,volume\n1795000000000,AAPL,1,1.1,1.05,10\n"
    created = api.http.put(
        "/files/upload-one.csv", content=body, headers={"Content-Type": "application/octet-stream"}
    )
    assert created.status_code == 201, created.text
    assert created.json()["name"] == "uploads/upload-one.csv"
    assert (data / "uploads" / "upload-one.csv").read_bytes() == body
    names = [f["name"] for f in api.http.get("/files").json()]
    assert "day.csv" in names
    assert "uploads/upload-one.csv" in names
    assert "api-token" not in names
    again = api.http.put("/files/upload-one.csv", content=b"x")
    assert again.status_code == 409
    assert "exists" in again.json()["detail"]
    for bad in ("..%2Fescape.csv", ".hidden.csv", "notes.txt", "a%20b.csv"):
        refused = api.http.put(f"/files/{bad}", content=b"x")
        assert refused.status_code in (404, 422), (bad, refused.status_code)
    assert api.http.put("/files/empty.csv", content=b"").status_code == 422
    assert not (data / "uploads" / "empty.csv").exists()
    anonymous = api.anonymous.put("/files/anon.csv", content=b"x")
    assert anonymous.status_code == 401


def test_an_upload_over_the_limit_is_refused_and_leaves_nothing(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert MAX_UPLOAD_BYTES == 200 << 20
    # the server runs in this process: a small limit spares sending 200 MiB
    monkeypatch.setattr(datafiles, "MAX_UPLOAD_BYTES", 4096)
    answer = api.http.put("/files/huge.csv", content=b"0" * 5000)
    assert answer.status_code == 413
    uploads = api.settings.data_dir / "uploads"
    assert not (uploads / "huge.csv").exists()
    assert not [p for p in uploads.iterdir() if p.name.startswith(".upload-")]


def test_the_console_is_served_at_the_root_without_credentials_and_locked_down(api: Api) -> None:
    root = api.anonymous.get("/", follow_redirects=False)
    assert root.status_code == 307
    assert root.headers["location"] == "/console/"
    page = api.anonymous.get("/console/")
    assert page.status_code == 200
    assert '<script type="module" src="app.js">' in page.text
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "connect-src 'self'" in policy
    assert page.headers["x-content-type-options"] == "nosniff"
    script = api.anonymous.get("/console/pages/control.js")
    assert script.status_code == 200
    assert "javascript" in script.headers["content-type"]
    chart = api.anonymous.get("/console/vendor/lightweight-charts.standalone.production.js")
    assert chart.status_code == 200
    assert "Lightweight Charts" in chart.text[:300]
    # the console's files are public; nothing beside them is
    assert api.anonymous.get("/console/../positions").status_code in (401, 404)
    assert api.anonymous.get("/consoles/").status_code == 401
    assert api.anonymous.get("/console/missing.js").status_code == 404
