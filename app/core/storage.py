"""One storage interface for uploads and generated files (DESIGN.md, "Decisions").

Files live under instance/ by default, never under static/. Keys are relative paths made of
safe segments; anything else is refused, so a key can never reach outside the root.
"""

from __future__ import annotations

import functools
import os
import re
import tempfile
from datetime import datetime
from pathlib import Path

from flask import current_app

# A segment starts with a letter or digit (so never "." or ".."); fullmatch, because "$"
# would also accept a trailing newline.
_SEGMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


class InvalidKey(ValueError):
    pass


class LocalStorage:
    """Files in a directory on this machine."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root).resolve()

    def path(self, key: str) -> Path:
        """The file a key names. Refuses keys with '..', absolute paths or odd characters."""
        segments = key.split("/") if isinstance(key, str) else [""]
        if not all(_SEGMENT.fullmatch(s) for s in segments):
            raise InvalidKey(f"invalid storage key: {key!r}")
        path = self.root.joinpath(*segments)
        if self.root not in path.parents:
            raise InvalidKey(f"invalid storage key: {key!r}")
        return path

    def save(self, key: str, data: bytes) -> None:
        """Write atomically: readers see the old file or the new one, never half of one."""
        path = self.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def save_new(self, key: str, data: bytes) -> None:
        """Write a file that no reader can know of yet (its key is committed only after this
        returns) in place: the temporary file and rename of `save` cost as much as the write
        in a bulk run. A file already there (left by a crashed or concurrent attempt) is
        replaced atomically by `save`, so what finally stands at the key is whole."""
        path = self.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            handle = open(path, "xb")  # noqa: SIM115  (closed below, removed on failure)
        except FileExistsError:
            self.save(key, data)
            return
        try:
            with handle:
                handle.write(data)
        except BaseException:
            path.unlink(missing_ok=True)
            raise

    def keys_written_before(self, prefix: str, cutoff: datetime) -> list[str]:
        """The keys under `prefix` whose file was last written before `cutoff` (for sweeps
        of files nothing refers to any more). Temporary files of `save` are not keys."""
        folder = self.path(prefix)
        if not folder.is_dir():
            return []
        limit = cutoff.timestamp()
        return sorted(
            path.relative_to(self.root).as_posix()
            for path in folder.rglob("*")
            if not path.name.startswith(".") and path.is_file()
            and path.stat().st_mtime < limit
        )

    def read(self, key: str) -> bytes:
        return self.path(key).read_bytes()

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)


def get_storage() -> LocalStorage:
    """The configured storage for the current app."""
    return _storage_at(current_app.config["STORAGE_DIR"])


@functools.lru_cache(maxsize=16)
def _storage_at(root: str) -> LocalStorage:
    """One per root: resolving the root reads the file system, and a bulk run asks often."""
    return LocalStorage(root)
