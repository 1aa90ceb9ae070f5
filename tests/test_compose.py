"""docker-compose.yml and the Dockerfile agree with the code they start.

No Docker engine runs here, so nothing is started: `docker-compose config` validates the file,
and every command a service runs is resolved against the real code — a `strikeflow ...` command
against the Typer app, `python -m bytewax.run X:Y` against the module it names, a `python -c`
script against what it imports — and every STRIKEFLOW_* variable against the settings.
"""

from __future__ import annotations

import ast
import importlib
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
import typing
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml
from packaging.specifiers import SpecifierSet

from api.cli import app
from dashboards.model import DATASOURCE_TYPE, PLUGIN_VERSION
from dashboards.provision import GRAFANA_DASHBOARDS_PATH, datasource_provisioning
from schemas.settings import Settings, Topics
from tests.paths import REPO

ROOT = REPO
COMPOSE_FILE = ROOT / "docker-compose.yml"
COMPOSE: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text())
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
# `${NAME:-default}` and `${NAME:?message}` as docker compose interpolates them.
INTERPOLATION = re.compile(r"\$\{(\w+)(?::?([-?])([^}]*))?\}")
SHELL_KEYWORDS = {"if", "then", "else", "elif", "fi", "do", "done", "exec", "!"}


def command_of(service: dict[str, Any]) -> list[str]:
    command = service.get("command", [])
    return shlex.split(command) if isinstance(command, str) else [str(c) for c in command]


def simple_commands(argv: list[str]) -> list[list[str]]:
    """The commands a service runs: its argv, or each command of an `sh -c` script."""
    if argv[:2] not in (["sh", "-c"], ["/bin/sh", "-c"]):
        return [argv]
    script = argv[2].replace("$$", "$")  # compose's escape for a literal $
    found = []
    for part in re.split(r"\n|;|&&|\|\|", script):
        words = shlex.split(part)
        while words and words[0] in SHELL_KEYWORDS:
            words = words[1:]
        if words and words[0] not in ("set", "["):
            found.append(words)
    return found


def all_commands() -> list[tuple[str, list[str]]]:
    return [
        (name, words)
        for name, service in SERVICES.items()
        for words in simple_commands(command_of(service))
    ]


def commands_starting(*prefix: str) -> list[tuple[str, list[str]]]:
    return [(name, w) for name, w in all_commands() if w[: len(prefix)] == list(prefix)]


def ids(commands: list[tuple[str, list[str]]]) -> list[str]:
    return [f"{name}:{' '.join(words)[:60]}" for name, words in commands]


def interpolated(value: str) -> str:
    """A compose value with its ${...} replaced by the default, or a stand-in when required."""
    return INTERPOLATION.sub(lambda m: m.group(3) if m.group(2) == "-" else "stand-in-value", value)


# -- the file as a whole -------------------------------------------------------------------------


def compose_binary() -> list[str] | None:
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True, check=False)
        if probe.returncode == 0:
            return ["docker", "compose"]
    return None


def run_config(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    binary = compose_binary()
    if binary is None:
        pytest.skip("neither docker-compose nor the docker compose plugin is installed")
    return subprocess.run(
        [*binary, "-f", str(COMPOSE_FILE), "config", "-q"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_compose_config_accepts_the_file() -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("STRIKEFLOW_")}
    result = run_config({**env, "STRIKEFLOW_API_TOKEN": "a-token"})
    assert result.returncode == 0, result.stderr


def test_compose_refuses_to_start_the_api_without_a_token() -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("STRIKEFLOW_")}
    result = run_config(env)
    assert result.returncode != 0
    assert "STRIKEFLOW_API_TOKEN" in result.stderr


# -- commands ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("service", "argv"), commands_starting("strikeflow"), ids=ids(commands_starting("strikeflow"))
)
def test_strikeflow_commands_exist_with_the_options_given(service: str, argv: list[str]) -> None:
    # Typer ships its own copy of click, so commands are walked by their interface, not by
    # isinstance checks against the click package.
    command: Any = typer.main.get_command(app)
    context = command.context_class(command, info_name="strikeflow")
    words = argv[1:]
    while hasattr(command, "list_commands"):
        assert words, f"{service}: `{' '.join(argv)}` stops at a command group"
        sub = command.get_command(context, words[0])
        assert sub is not None, (
            f"{service}: `strikeflow {' '.join(argv[1:])}`: no command {words[0]!r} in "
            f"{command.list_commands(context)}"
        )
        context = sub.context_class(sub, info_name=words[0], parent=context)
        command, words = sub, words[1:]
    # Parses the options and arguments as the CLI would (unknown options, bad types) without
    # running the command.
    command.make_context(context.info_name, list(words), parent=context.parent)


BYTEWAX_RUNS = commands_starting("python", "-m", "bytewax.run")


@pytest.mark.parametrize(("service", "argv"), BYTEWAX_RUNS, ids=ids(BYTEWAX_RUNS))
def test_bytewax_runs_an_importable_dataflow(
    service: str, argv: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from bytewax import run
    from bytewax.dataflow import Dataflow

    monkeypatch.setattr(sys, "argv", ["bytewax.run", *argv[3:]])
    args = run._parse_args()  # exits on bad flags, e.g. -r without -s and -b
    module_name, _, attribute = args.import_str.partition(":")
    module = importlib.import_module(module_name)
    target = getattr(module, attribute or "flow")
    # bytewax.run takes a Dataflow, or a function it calls to build one (which is how
    # flows.runs.live reads its settings only when run, not when imported).
    if not isinstance(target, Dataflow):
        assert callable(target), service
        assert typing.get_type_hints(target)["return"] is Dataflow, service


def test_bytewax_recovery_is_initialised_before_the_flow_runs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from bytewax import recovery

    (init,) = commands_starting("python", "-m", "bytewax.recovery")
    (flow,) = BYTEWAX_RUNS
    assert init[0] == flow[0], "the recovery partitions belong to the flow's container"
    monkeypatch.setattr(sys, "argv", ["bytewax.recovery", *init[1][3:]])
    args = recovery._parse_args()
    recovery_dir = flow[1][flow[1].index("-r") + 1]
    assert str(args.db_dir) == recovery_dir
    workers = int(flow[1][flow[1].index("-w") + 1])
    assert args.part_count >= workers
    mounted = [v.split(":")[1] for v in SERVICES[flow[0]]["volumes"] if not v.startswith(".")]
    assert recovery_dir in mounted, "recovery needs a named volume to survive restarts"


PYTHON_SCRIPTS = commands_starting("python", "-c")


@pytest.mark.parametrize(("service", "argv"), PYTHON_SCRIPTS, ids=ids(PYTHON_SCRIPTS))
def test_python_scripts_compile_and_import_what_exists(service: str, argv: list[str]) -> None:
    tree = ast.parse(argv[2])
    imports = [node for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]
    assert imports, service
    for node in imports:
        assert node.module is not None
        module = importlib.import_module(node.module)
        for alias in node.names:
            assert hasattr(module, alias.name), f"{service}: {node.module}.{alias.name}"


def test_every_strikeflow_variable_is_a_setting_with_a_valid_value(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for key in [k for k in os.environ if k.startswith("STRIKEFLOW_")]:
        monkeypatch.delenv(key)
    for name, service in SERVICES.items():
        environment = service.get("environment") or {}
        variables = {k: str(v) for k, v in environment.items() if k.startswith("STRIKEFLOW_")}
        for key in variables:
            if key.startswith("STRIKEFLOW_TOPIC_"):
                field = key.removeprefix("STRIKEFLOW_TOPIC_").lower()
                assert field in Topics.model_fields, f"{name}: {key} is not a topic setting"
            else:
                field = key.removeprefix("STRIKEFLOW_").lower()
                assert field in Settings.model_fields, f"{name}: {key} is not a setting"
        with monkeypatch.context() as patch:
            for key, value in variables.items():
                patch.setenv(key, interpolated(value))
            Settings()  # the values parse: ports are numbers, the DSN has a known scheme


# -- services, images and healthchecks -----------------------------------------------------------


def test_images_are_pinned() -> None:
    for name, service in SERVICES.items():
        if "build" in service:
            continue
        image = service["image"]
        _, _, tag = image.rpartition(":")
        assert re.match(r"v?\d+\.\d+", tag), f"{name}: {image} is not pinned to a version"


def test_dependencies_wait_for_health_or_completion() -> None:
    for name, service in SERVICES.items():
        for dependency, spec in (service.get("depends_on") or {}).items():
            condition = spec["condition"]
            assert condition in ("service_healthy", "service_completed_successfully"), name
            target = SERVICES[dependency]
            if condition == "service_healthy":
                assert "healthcheck" in target, f"{name} waits on {dependency}'s health"
            else:
                assert target.get("restart") == "no", f"{dependency} must be a one-shot job"


def test_long_running_services_have_healthchecks_or_are_pure_producers() -> None:
    for name, service in SERVICES.items():
        if service.get("restart") == "no":
            continue
        assert "healthcheck" in service or name == "feed", name


def test_grafana_mounts_the_generated_provisioning_and_pins_the_plugin() -> None:
    """Grafana cannot run here: its mounts are checked against the generated files."""
    grafana = SERVICES["grafana"]
    mounts = dict(volume.split(":")[:2] for volume in grafana["volumes"])
    assert mounts["./dashboards/json"] == GRAFANA_DASHBOARDS_PATH
    for host, container in mounts.items():
        if host.startswith("./"):
            assert (ROOT / host).is_dir(), host
            assert container.startswith("/etc/grafana/"), container
    assert mounts["./dashboards/provisioning/datasources"].endswith("/provisioning/datasources")
    assert mounts["./dashboards/provisioning/dashboards"].endswith("/provisioning/dashboards")
    env = grafana["environment"]
    assert env["GF_PLUGINS_PREINSTALL_SYNC"] == f"{DATASOURCE_TYPE}@{PLUGIN_VERSION}"
    home = env["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert (ROOT / "dashboards/json" / Path(home).name).is_file()


def test_grafana_reaches_clickhouse_as_its_read_only_user() -> None:
    """Grafana cannot run here: its datasource, ClickHouse's users.d and both environments agree."""
    source = datasource_provisioning()["datasources"][0]
    settings = source["jsonData"]
    assert settings["host"] in SERVICES
    clickhouse = SERVICES[settings["host"]]
    assert f"{settings['port']}:{settings['port']}" in clickhouse["ports"]
    reader = next(v for v in clickhouse["volumes"] if "grafana-reader.xml" in v)
    host_path, container_path = reader.split(":")[:2]
    xml = (ROOT / host_path).read_text()
    assert container_path.startswith("/etc/clickhouse-server/users.d/")
    assert f"<{settings['username']}>" in xml
    (password_env,) = re.findall(r'from_env="(\w+)"', xml)
    assert password_env in clickhouse["environment"]
    # The provisioning file's $NAME must be set in Grafana's environment, to the same value.
    secret = source["secureJsonData"]["password"].strip("${}")
    assert secret == password_env
    assert SERVICES["grafana"]["environment"][secret] == clickhouse["environment"][password_env]
    assert settings["defaultDatabase"] == clickhouse["environment"]["CLICKHOUSE_DB"]


def test_prometheus_scrapes_the_flow_and_the_api_where_they_listen() -> None:
    """Prometheus' own behaviour is tested in tests/dashboards/test_pipeline_queries.py; here
    its compose service, its scrape config and Grafana's datasource agree."""
    prometheus = SERVICES["prometheus"]
    mounts = dict(volume.split(":")[:2] for volume in prometheus["volumes"])
    config_path = next(host for host, inside in mounts.items() if inside.endswith(".yml"))
    config = yaml.safe_load((ROOT / config_path).read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    flow_target = jobs["strikeflow-flow"]["static_configs"][0]["targets"][0]
    api_target = jobs["strikeflow-api"]["static_configs"][0]["targets"][0]
    assert flow_target == f"flow:{SERVICES['flow']['ports'][0].split(':')[1]}"
    assert SERVICES["flow"]["environment"]["BYTEWAX_DATAFLOW_API_ENABLED"] == "true"
    assert api_target == f"api:{SERVICES['api']['ports'][0].split(':')[1]}"
    # The API needs the token: the command writes the one the API gets where the config reads it.
    token_file = jobs["strikeflow-api"]["authorization"]["credentials_file"]
    assert token_file in " ".join(prometheus["command"])
    assert Path(token_file).parent.as_posix() in mounts.values()
    api_token = SERVICES["api"]["environment"]["STRIKEFLOW_API_TOKEN"]
    assert prometheus["environment"]["STRIKEFLOW_API_TOKEN"] == api_token
    source = datasource_provisioning()["datasources"][1]
    port = prometheus["ports"][0].split(":")[1]
    assert source["url"] == f"http://prometheus:{port}"


def test_app_services_reach_clickhouse_with_the_servers_credentials() -> None:
    clickhouse = SERVICES["clickhouse"]["environment"]
    expected = (
        f"http://{clickhouse['CLICKHOUSE_USER']}:{clickhouse['CLICKHOUSE_PASSWORD']}"
        "@clickhouse:8123"
    )
    database = clickhouse["CLICKHOUSE_DB"]
    for name, service in SERVICES.items():
        env = service.get("environment") or {}
        if "STRIKEFLOW_CLICKHOUSE_DSN" in env:
            assert env["STRIKEFLOW_CLICKHOUSE_DSN"] == expected, name
            assert env["STRIKEFLOW_CLICKHOUSE_DATABASE"] == database, name


# -- the Dockerfile ------------------------------------------------------------------------------


def test_dockerfile_python_satisfies_the_project_and_installs_the_lock() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    (version,) = re.findall(r"^FROM python:(\d+\.\d+)", dockerfile, flags=re.MULTILINE)
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert f"{version}.0" in SpecifierSet(project["requires-python"])
    assert "uv sync --frozen --no-dev" in dockerfile
    (uv_pin,) = re.findall(r"uv==([\d.]+)", dockerfile)
    assert f"uv=={uv_pin}" in (ROOT / "Makefile").read_text(), "use the Makefile's uv"


def test_the_image_is_built_from_what_the_lock_needs() -> None:
    ignored = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = project["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]
    needed = {"pyproject.toml", "uv.lock", project["project"]["readme"], *packages}
    assert not needed & ignored
    assert {".git", ".venv"} <= ignored
