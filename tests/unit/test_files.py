"""Files written whole or not at all (pipelines/files.py)."""

import os
import stat
from pathlib import Path

import pytest

from pipelines.files import replace_text


def test_a_file_is_replaced_whole_with_its_mode_and_nothing_left_beside_it(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "kpo-dbt"
    replace_text(target, "first")
    replace_text(target, "second\n", mode=0o755)
    assert target.read_text() == "second\n" and stat.S_IMODE(target.stat().st_mode) == 0o755
    assert [p.name for p in target.parent.iterdir()] == ["kpo-dbt"]


def test_a_write_that_fails_leaves_the_old_file_and_no_temporary(tmp_path: Path, monkeypatch) -> None:
    target = tmp_path / "index.json"
    replace_text(target, "old")

    def refuse(source, destination):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError, match="No space left"):
        replace_text(target, "new")
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["index.json"]
