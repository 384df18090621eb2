"""Files the pipeline writes get the permissions a plain `open` gives (0666 less the umask), so that
a group on a shared file system can read the results; they are written whole or not at all."""

from __future__ import annotations

import stat

from ossinstruct.io import write_json, write_jsonl
from ossinstruct.streams import Writer


def test_written_files_have_the_permissions_open_gives_not_owner_only(tmp_path):
    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    expected = stat.S_IMODE(plain.stat().st_mode)
    write_json(tmp_path / "a.json", {"a": 1})
    write_jsonl(tmp_path / "b.jsonl", [{"b": 2}])
    with Writer(tmp_path / "c.jsonl") as out:
        out.write(b"{}\n")
    modes = {name: stat.S_IMODE((tmp_path / name).stat().st_mode) for name in ("a.json", "b.jsonl", "c.jsonl")}
    assert modes == dict.fromkeys(modes, expected) and expected & stat.S_IRGRP, (modes, oct(expected))
