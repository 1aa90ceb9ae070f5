"""`strikeflow backtest`: replay a range of the ticks topic, or a file, with one or more configs.

The flow (Bytewax, numpy, ClickHouse) is imported in `replay`, when a backtest runs, so that
`strikeflow --help` does not load it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
import yaml
from pydantic import TypeAdapter, ValidationError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from api.cli.common import bootstrap_servers, console
from api.cli.research import (
    AnchoredOption,
    MonteCarloOption,
    Objective,
    ObjectiveOption,
    SeedOption,
    WalkForwardOption,
    print_research,
    research_reports,
    walk_forward_request,
)
from api.cli.summary import backtest_json, print_backtest
from flows.runs.sweep import parse_sweep, sweep_configs
from schemas.common import BarFill, to_epoch_ms
from schemas.config import AlgorithmConfig, ResearchRequest
from schemas.settings import Settings

if TYPE_CHECKING:
    from flows.runs.backtest import Source
    from flows.runs.results import BacktestResult


def load_configs(path: Path) -> list[AlgorithmConfig]:
    """One config (a mapping) or several (a list, or a mapping with `accounts`), YAML or JSON."""
    try:
        data: Any = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as error:
        raise typer.BadParameter(f"--config {path}: {error}") from None
    if isinstance(data, dict) and "accounts" in data:
        data = data["accounts"]
    items = data if isinstance(data, list) else [data]
    for number, item in enumerate(items):
        if isinstance(item, dict):
            item.setdefault("account_id", path.stem if len(items) == 1 else f"{path.stem}-{number}")
    try:
        return TypeAdapter(list[AlgorithmConfig]).validate_python(items)
    except ValidationError as error:
        raise typer.BadParameter(f"--config {path}: {error}") from None


def swept(configs: list[AlgorithmConfig], sweep: list[str] | None) -> list[AlgorithmConfig]:
    """The configs, or one account per point of the `NAME=V1,V2,...` sweep of a single one."""
    if not sweep:
        return configs
    if len(configs) != 1:
        raise typer.BadParameter("--sweep needs a config file with a single config")
    try:
        return sweep_configs(configs[0], parse_sweep(sweep))
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None


def epoch_ms(text: str | None, option: str) -> int | None:
    """An option's time (ISO-8601 with a zone, or epoch ms) in UTC epoch milliseconds."""
    if text is None:
        return None
    try:
        value: int = to_epoch_ms(text)
    except (ValueError, TypeError) as error:
        raise typer.BadParameter(f"{option}: {error}") from None
    return value


FileOption = Annotated[
    Path | None, typer.Option(help="Replay this CSV/Parquet instead of the ticks topic.")
]
FromOption = Annotated[
    str | None, typer.Option("--from", help="Start (ISO-8601 with zone, or epoch ms).")
]
SweepOption = Annotated[
    list[str] | None, typer.Option(help="NAME=V1,V2,...: one account per combination.")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print metrics and trades as JSON.")]
ProcessesOption = Annotated[
    int, typer.Option(min=1, max=64, help="Processes of the flow (both cores: 2).")
]
AdjustedOption = Annotated[
    bool, typer.Option(help="Trade a bar file's adjusted close (Yahoo's Adj Close).")
]
FillOption = Annotated[
    BarFill,
    typer.Option(
        help="Where a bar file's orders fill: at the bar's close, or at the next bar's open "
        "(needs an Open column; the last bar's orders never fill)."
    ),
]
StoreTicksOption = Annotated[bool, typer.Option(help="Also copy a file's ticks into market_ticks.")]
AllGreeksOption = Annotated[
    bool,
    typer.Option(help="Sample option Greeks of every symbol, not only those traded as options."),
]


def backtest(
    config: Annotated[Path, typer.Option(help="Algorithm config(s), YAML or JSON.")],
    file: FileOption = None,
    symbol: Annotated[str | None, typer.Option(help="Symbol of a single-symbol file.")] = None,
    from_: FromOption = None,
    to: Annotated[str | None, typer.Option(help="End, exclusive.")] = None,
    sweep: SweepOption = None,
    run_id: Annotated[str | None, typer.Option(help="Default: a hash of the inputs.")] = None,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Worker threads per process.")] = 1,
    processes: ProcessesOption = 1,
    as_json: JsonOption = False,
    walk_forward: WalkForwardOption = None,
    anchored: AnchoredOption = False,
    objective: ObjectiveOption = Objective.SHARPE,
    monte_carlo: MonteCarloOption = 0,
    seed: SeedOption = 0,
    adjusted: AdjustedOption = False,
    fill: FillOption = BarFill.CLOSE,
    store_ticks: StoreTicksOption = False,
    all_greeks: AllGreeksOption = False,
) -> None:
    """Replay a range of the ticks topic (or a file) through the flow with a config."""
    settings = Settings()
    if all_greeks:
        settings = settings.model_copy(update={"greeks_all_symbols": True})
    configs = swept(load_configs(config), sweep)
    research = ResearchRequest(
        walk_forward=walk_forward_request(walk_forward, anchored, objective),
        monte_carlo=monte_carlo,
        seed=seed,
    )
    window = (epoch_ms(from_, "--from"), epoch_ms(to, "--to"))
    if file is not None and not file.exists():
        raise typer.BadParameter(f"--file {file} does not exist")
    if file is None and fill != BarFill.CLOSE:
        raise typer.BadParameter("--fill next-open is for a bar file: give --file")
    bootstrap = None if file else bootstrap_servers(settings, "a topic backtest")
    # Deferred like the flow (see the module docstring).
    from flows.runs.backtest import Source

    source = Source(
        file=file,
        symbol=symbol,
        from_ts=window[0],
        to_ts=window[1],
        store_ticks=store_ticks,
        adjusted=adjusted,
        fill=fill,
    )
    result = replay_or_exit(
        settings, configs, source, bootstrap, run_id, (workers, processes), as_json
    )
    reports = research_reports(result, configs, research, settings.data_dir / "reports")
    if as_json:
        print(json.dumps({**backtest_json(result), **reports}))
        return
    print_backtest(Console(), result)
    print_research(Console(), reports)
    console.print(f"report: {result.run.report_path}")


def replay_or_exit(
    settings: Settings,
    configs: list[AlgorithmConfig],
    source: Source,
    bootstrap: str | None,
    run_id: str | None,
    parallel: tuple[int, int],
    quiet: bool,
) -> BacktestResult:
    """`replay`, with a file that cannot be used (exit 2, before the engine starts) or a failed
    run (exit 1, recorded in backtest_runs) said in one line, without a traceback."""
    from flows.runs.backtest import BacktestFailedError, check_file
    from flows.sources.tick_file import TickFileError

    try:
        check_file(source, settings)  # refused before the progress bar or the engine starts
        return replay(settings, configs, source, bootstrap, run_id, parallel, quiet=quiet)
    except TickFileError as error:  # before the run started: nothing recorded
        console.print(f"--file: {error}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    except BacktestFailedError as failure:  # recorded in backtest_runs; one line, no traceback
        console.print(str(failure), markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None


def replay(
    settings: Settings,
    configs: list[AlgorithmConfig],
    source: Source,
    bootstrap: str | None,
    run_id: str | None,
    parallel: tuple[int, int],
    *,
    quiet: bool,
) -> BacktestResult:
    """Run the backtest of `source` with (workers per process, processes), with a progress bar
    on the console unless `quiet`."""
    # Deferred: the flow would slow `strikeflow --help` (see the module docstring).
    from flows.runs.backtest import run_backtest
    from flows.runs.shutdown import stop_on_signals

    with Progress(
        TextColumn("[bold]backtest"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=quiet,
    ) as progress:
        task = progress.add_task("replay", total=None)
        return run_backtest(
            settings,
            configs,
            source,
            bootstrap=bootstrap,
            run_id=run_id,
            workers=parallel[0],
            processes=parallel[1],
            on_progress=lambda done, total: progress.update(
                task, completed=done, total=total or None
            ),
            report_dir=settings.data_dir / "reports",
            stop=stop_on_signals("backtest"),  # Ctrl-C: recorded as cancelled, exit 0
        )


def register(app: typer.Typer) -> None:
    """Add `backtest` as a top-level command of the `strikeflow` CLI."""
    app.command("backtest")(backtest)
