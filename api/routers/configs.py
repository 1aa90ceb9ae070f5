"""Algorithm configs: versioned, stored in `algorithm_configs`, published to the flow.

Every change is a new version (the server numbers them; `created_ts` is when it was written) and
is sent to the flow as a `config_update` command, which the flow applies from the next tick.
Deleting disables: a new version with `enabled = false`, followed by a `stop` command, since
the flow keeps trading an account whose config is updated in place. A new account starts
stopped until a `start`.

Versions are numbered by a read then a write under a lock of this process: run one API
process per database (the docker-compose stack does).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, status
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, ValidationError, create_model

from api.deps import (
    BODY_RESPONSES,
    Services,
    ServicesDep,
    error_response,
)
from api.routers.control import UNAVAILABLE, CommandRequest, send_command
from schemas.common import AccountId, wall_clock_ms
from schemas.config import AlgorithmConfig, ControlAction
from sinks.store.configs import config_versions, latest_configs
from sinks.store.rows import insert

router = APIRouter(prefix="/configs", tags=["configs"])

_SERVER_FIELDS = ("version", "created_ts")


def _body_model(name: str, without: tuple[str, ...], doc: str) -> type[BaseModel]:
    """A request body with `AlgorithmConfig`'s own fields (one definition of the contract)."""
    fields: dict[str, Any] = {
        field_name: (info.annotation, info)
        for field_name, info in AlgorithmConfig.model_fields.items()
        if field_name not in without
    }
    model: type[BaseModel] = create_model(
        name, __config__=ConfigDict(extra="forbid"), __doc__=doc, **fields
    )
    return model


if TYPE_CHECKING:  # built at run time; to a type checker they are plain models
    ConfigCreate = BaseModel
    ConfigUpdate = BaseModel
else:
    ConfigCreate = _body_model(
        "ConfigCreate",
        _SERVER_FIELDS,
        "A new account's algorithm config; the server sets `version` (1) and `created_ts`.",
    )
    ConfigUpdate = _body_model(
        "ConfigUpdate",
        ("account_id", *_SERVER_FIELDS),
        "The next version of an account's config: every field, as for a new one.",
    )
NOT_FOUND = error_response(404, "No config for the account.")


def _validated(values: dict[str, Any]) -> AlgorithmConfig:
    """The config, or a 422 listing what the model refused (e.g. repeated symbols)."""
    try:
        return AlgorithmConfig.model_validate(values)
    except ValidationError as error:
        problems = error.errors(include_url=False, include_context=False)
        for problem in problems:
            problem["loc"] = ("body", *problem["loc"])
        raise RequestValidationError(problems) from None


def _store_next(
    found: Services, account_id: str, values: dict[str, Any], new: bool
) -> AlgorithmConfig:
    with found.config_lock:
        versions = config_versions(found.clickhouse, account_id)
        if new and versions:
            raise HTTPException(
                status.HTTP_409_CONFLICT,
                f"account {account_id} already has a config; PUT /configs/{account_id} "
                "writes a new version",
            )
        if not new and not versions:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no config for {account_id}")
        config = _validated(
            {
                **values,
                "account_id": account_id,
                "version": versions[-1].version + 1 if versions else 1,
                "created_ts": wall_clock_ms(),
            }
        )
        insert(found.clickhouse, [config])
        return config


async def _publish(found: Services, config: AlgorithmConfig, reason: str) -> None:
    await send_command(
        found,
        config.account_id,
        ControlAction.CONFIG_UPDATE,
        CommandRequest(reason=reason, command_id=f"config-{config.account_id}-v{config.version}"),
        config,
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Create an account's config (version 1)",
    responses={
        **BODY_RESPONSES,
        **error_response(409, "The account already has a config."),
        **UNAVAILABLE,
    },
)
async def create_config(found: ServicesDep, body: ConfigCreate) -> AlgorithmConfig:
    values = body.model_dump()
    account_id = values.pop("account_id")
    config = await run_in_threadpool(_store_next, found, account_id, values, True)
    await _publish(found, config, "config created")
    return config


@router.get("", summary="The newest version of every account's config")
async def list_configs(
    found: ServicesDep,
    include_disabled: Annotated[bool, Query(description="Also disabled configs.")] = False,
) -> list[AlgorithmConfig]:
    return await run_in_threadpool(latest_configs, found.clickhouse, include_disabled)


@router.get("/{account_id}", summary="The newest version of a config", responses=NOT_FOUND)
async def read_config(
    found: ServicesDep, account_id: Annotated[AccountId, Path()]
) -> AlgorithmConfig:
    versions = await run_in_threadpool(config_versions, found.clickhouse, account_id)
    if not versions:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no config for {account_id}")
    return versions[-1]


@router.get(
    "/{account_id}/versions", summary="Every version of a config, oldest first", responses=NOT_FOUND
)
async def read_versions(
    found: ServicesDep, account_id: Annotated[AccountId, Path()]
) -> list[AlgorithmConfig]:
    versions = await run_in_threadpool(config_versions, found.clickhouse, account_id)
    if not versions:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no config for {account_id}")
    return versions


@router.put(
    "/{account_id}",
    summary="Write the next version of a config",
    responses={**BODY_RESPONSES, **NOT_FOUND, **UNAVAILABLE},
)
async def update_config(
    found: ServicesDep,
    account_id: Annotated[AccountId, Path()],
    body: ConfigUpdate,
) -> AlgorithmConfig:
    values = body.model_dump()
    config = await run_in_threadpool(_store_next, found, account_id, values, False)
    await _publish(found, config, f"config version {config.version}")
    return config


@router.delete(
    "/{account_id}",
    summary="Disable a config (a new version with enabled=false) and stop the account",
    responses={**NOT_FOUND, **UNAVAILABLE},
)
async def disable_config(
    found: ServicesDep, account_id: Annotated[AccountId, Path()]
) -> AlgorithmConfig:
    versions = await run_in_threadpool(config_versions, found.clickhouse, account_id)
    if not versions:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no config for {account_id}")
    values = versions[-1].model_dump(exclude={"account_id", *_SERVER_FIELDS})
    values["enabled"] = False
    config = await run_in_threadpool(_store_next, found, account_id, values, False)
    await _publish(found, config, "config disabled")
    await send_command(
        found, account_id, ControlAction.STOP, CommandRequest(reason="config disabled")
    )
    return config
