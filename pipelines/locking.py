"""The run lock: one `kpo run` at a time on a KPO_HOME.

An fcntl lock on `run.lock`: the kernel releases it when the holder dies, even by SIGKILL, so a crash never
leaves a stale lock. Kept apart from the runner, which imports Dagster (seconds): `kpo run` takes the lock
first and refuses a second run at once.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager

from pipelines.settings import Settings


class AlreadyRunning(RuntimeError):
    """Another kpo run holds the lock on this KPO_HOME, or the Dagster daemon has a run queued or going."""


@contextmanager
def run_lock(settings: Settings) -> Iterator[None]:
    settings.run_lock.parent.mkdir(parents=True, exist_ok=True)
    handle = settings.run_lock.open("a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "unknown"
        handle.close()
        raise AlreadyRunning(f"another kpo run is in progress on {settings.root} ({holder}); "
                             "wait for it to finish") from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"pid {os.getpid()} since {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M:%SZ}")
    handle.flush()
    try:
        yield
    finally:
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()


@contextmanager
def no_run_holding(settings: Settings) -> Iterator[bool]:
    """Whether no `kpo run` holds the lock; while it is true, the lock is held shared, so a `kpo run` starting in
    that instant is refused (with the usual message) rather than missed (the Dagster daemon's view of kpo runs)."""
    settings.run_lock.parent.mkdir(parents=True, exist_ok=True)
    with settings.run_lock.open("a+") as handle:  # closing the handle releases the lock
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
