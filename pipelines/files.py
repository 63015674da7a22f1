"""Writing a file whole or not at all, which several steps need: a reader (a BI tool, the next run, a plugin
check in another process) must never find half of one.

The standard library writes in place; this writes beside the file under a name of this process's own (two
processes may write the same file: a run and `kpo plugin check`), then renames over it, which POSIX makes
atomic. Too small a need for a dependency.
"""

from __future__ import annotations

import os
from pathlib import Path


def replace_text(path: Path, text: str, mode: int | None = None) -> None:
    """Write `text` (UTF-8) to `path` atomically; `mode` sets its permissions first (an executable)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        if mode is not None:
            tmp.chmod(mode)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_if_changed(path: Path, text: str, mode: int | None = None) -> None:
    """`replace_text`, only when `path` does not already hold `text`: generated files whose modification time
    matters (dbt's partial parse goes by it) or that several processes may write at once (a run and `kpo dbt`)."""
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        replace_text(path, text, mode)
