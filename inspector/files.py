"""Writing a file all at once: what every report, picture, photo and record of the project is
written with."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def write_atomic(path: Path, data: bytes, durable: bool = False) -> Path:
    """Write `data` to `path` through a temporary file beside it and a rename: a killed run never
    leaves half a file, and the temporary name is unique (and hidden), so two writers of one file
    (two requests drawing the same pictures) never rename each other's. `durable` also flushes it
    to the disk first, for records that must survive a power cut (the promotion record)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            if durable:
                stream.flush()
                os.fsync(stream.fileno())
        os.chmod(temporary, 0o644)  # mkstemp's files are private; the service may run as another user
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    return path
