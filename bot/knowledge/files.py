"""Read an import file, turning every way it can fail into the importer's own error."""
from __future__ import annotations

from pathlib import Path


def read_bytes(path: Path, error: type[Exception]) -> bytes:
    """Return the bytes of `path`, or raise `error` with a message a coordinator can act on."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise error(f"{path}: no such file") from None
    except IsADirectoryError:
        raise error(f"{path}: is a folder, not a file") from None
    except OSError as exc:
        raise error(f"{path}: cannot read it ({exc.strerror})") from None
