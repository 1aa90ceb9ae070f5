"""Tick files in the server's data directory, for backtests: list them, upload one.

`PUT /files/{name}` takes the file's bytes as the body (any content type but JSON; the
console sends `application/octet-stream`) and stores it as `uploads/{name}`; the answer names
it as `POST /backtests` wants it (`file`). See api/datafiles.py for the rules.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Request, status
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from api.datafiles import DataFile, UploadError, save_upload, tick_files
from api.deps import ServicesDep, error_response
from api.routers.common import unprocessable

router = APIRouter(prefix="/files", tags=["backtests"])


class TickFile(BaseModel):
    name: str = Field(description="Relative to the data directory: the `file` of a backtest.")
    size: int = Field(description="Bytes.")
    modified_ms: int = Field(description="Last change, UTC epoch ms.")


def _shown(found: DataFile) -> TickFile:
    return TickFile(name=found.name, size=found.size, modified_ms=found.modified_ms)


@router.get("", summary="CSV and Parquet tick files under the data directory")
async def list_files(found: ServicesDep) -> list[TickFile]:
    files = await run_in_threadpool(tick_files, found.settings.data_dir.resolve())
    return [_shown(f) for f in files]


@router.put(
    "/{name}",
    status_code=status.HTTP_201_CREATED,
    summary="Upload a tick file (the body is the file) as uploads/{name}",
    responses={
        **error_response(409, "The name is taken."),
        **error_response(413, "The file is too large."),
    },
)
async def upload_file(
    found: ServicesDep,
    request: Request,
    name: Annotated[str, Path(max_length=120, description="e.g. ticks-aapl.csv")],
) -> TickFile:
    try:
        saved = await save_upload(found.settings.data_dir.resolve(), name, request.stream())
    except UploadError as error:
        if error.status == 422:  # shaped like FastAPI's own validation errors
            raise unprocessable(error.location, str(error), name) from None
        raise HTTPException(error.status, str(error)) from None
    return _shown(saved)
