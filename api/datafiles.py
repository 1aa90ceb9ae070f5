"""Tick files under the server's data directory: list them, and take an upload.

Backtests replay files only from inside the data directory (api/routers/backtests.py); this is
how a browser finds and adds them without a shell on the server. Only CSV and Parquet files
count: the directory also holds the database, the token and reports, which are never listed.
An upload goes to a temporary name first and is renamed when complete, so a backtest never
reads half a file, and a name already taken is refused rather than overwritten (a running
replay may be reading it).
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

TICK_SUFFIXES = (".csv", ".parquet")
FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}\.(csv|parquet)$")
MAX_UPLOAD_BYTES = 200 << 20
MAX_LISTED = 500
# the engine's own folders can be large; never worth a walk
SKIPPED_FOLDERS = frozenset({"chdb", "clickhouse", "recovery", "broker"})


@dataclass(frozen=True, slots=True)
class DataFile:
    name: str  # relative to the data directory, '/'-separated
    size: int  # bytes
    modified_ms: int  # UTC epoch ms


class UploadError(ValueError):
    """Why an upload was refused; `status` is the HTTP status to answer with, `location` the
    part of the request at fault for a 422 (("path", "name") or ("body",))."""

    def __init__(self, status: int, message: str, location: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.status = status
        self.location = location


def tick_files(root: Path) -> list[DataFile]:
    """CSV and Parquet files under `root` (hidden and engine folders skipped), by name; at most
    `MAX_LISTED`."""
    found: list[DataFile] = []
    for folder, folders, files in os.walk(root):
        folders[:] = sorted(
            name for name in folders if not name.startswith(".") and name not in SKIPPED_FOLDERS
        )
        for name in sorted(files):
            if name.startswith(".") or not name.lower().endswith(TICK_SUFFIXES):
                continue
            path = Path(folder, name)
            try:
                info = path.stat()
            except OSError:  # removed while we walked
                continue
            shown = path.relative_to(root).as_posix()
            found.append(DataFile(shown, info.st_size, int(info.st_mtime * 1000)))
            if len(found) >= MAX_LISTED:
                return sorted(found, key=lambda f: f.name)
    return sorted(found, key=lambda f: f.name)


def check_name(name: str) -> None:
    if not FILE_NAME.match(name):
        raise UploadError(
            422,
            "a file name is 1-100 letters, digits, '_', '-' or '.', ending in .csv or .parquet",
            ("path", "name"),
        )


async def save_upload(root: Path, name: str, chunks: AsyncIterator[bytes]) -> DataFile:
    """Write the streamed body to `root/uploads/name`; refuse a taken name (409) or a body over
    `MAX_UPLOAD_BYTES` (413), leaving nothing behind.

    The chunks (64 KiB from uvicorn) are written from the event loop: a local write of that
    size costs microseconds, less than handing each one to a thread."""
    check_name(name)
    folder = root / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    if target.exists():
        raise UploadError(409, f"uploads/{name} exists already; choose another name")
    descriptor, temporary = tempfile.mkstemp(dir=folder, prefix=".upload-")
    size = 0
    try:
        with os.fdopen(descriptor, "wb") as handle:
            async for chunk in chunks:
                size += len(chunk)
                if size > MAX_UPLOAD_BYTES:
                    raise UploadError(413, f"the file is larger than {MAX_UPLOAD_BYTES:,} bytes")
                handle.write(chunk)
        if size == 0:
            raise UploadError(422, "the file is empty", ("body",))
        os.link(temporary, target)  # fails if the name was taken meanwhile, unlike rename
    except FileExistsError:
        raise UploadError(409, f"uploads/{name} exists already; choose another name") from None
    finally:
        os.unlink(temporary)
    info = target.stat()
    return DataFile(f"uploads/{name}", info.st_size, int(info.st_mtime * 1000))
