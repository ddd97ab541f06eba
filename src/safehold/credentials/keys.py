"""The server's key directory: the keys that protect credentials and sign capabilities.

The keys live in files, never in the database, so a copy of the database (a backup, a replica,
a leaked dump) holds only ciphertext. The directory is created mode 0700 and each key file
0600, owned by the user the server runs as; a directory or file that others can read is
refused rather than used, because a key the agent's user can read protects nothing.
"""

from __future__ import annotations

import os
import secrets
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

from safehold.errors import KeyFileError

KEY_DIR_NAME = "keys"


def key_dir_for(config: Any) -> Path:
    """The key directory beside the server's secret key (the server's protected directory)."""
    secret = getattr(getattr(config, "server", None), "secret_key_path", "")
    if not secret:
        raise KeyFileError(
            "no key directory: set [server] secret_key in safehold.toml so safehold knows "
            "where its protected files live"
        )
    return Path(secret).parent / KEY_DIR_NAME


def ensure_dir(path: Path) -> Path:
    """`path`, created 0700; refused when group or others may read or enter it."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise KeyFileError(
            f"{path}: key directory is accessible to other users (mode {mode:o}); "
            f"run: chmod 700 {path}"
        )
    return path


def load_or_create(path: Path, create: Callable[[], bytes]) -> bytes:
    """The bytes in key file `path`, created (0600, exclusively) with `create()` on first use."""
    ensure_dir(path.parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read(path)
    with os.fdopen(fd, "wb") as f:
        data = create()
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    return data


def random_key(size: int = 32) -> Callable[[], bytes]:
    return lambda: secrets.token_bytes(size)


def _read(path: Path) -> bytes:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise KeyFileError(
            f"{path}: key file is readable by other users (mode {mode:o}); run: chmod 600 {path}"
        )
    data = path.read_bytes()
    if not data:
        raise KeyFileError(f"{path}: key file is empty")
    return data
