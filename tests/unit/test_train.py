"""Resume bookkeeping of the train stage."""

from ossinstruct.train import last_checkpoint


def test_an_incomplete_checkpoint_is_not_resumed_from(tmp_path):
    for step, complete in [(2, True), (10, True), (12, False)]:
        folder = tmp_path / f"checkpoint-{step}"
        folder.mkdir()
        if complete:
            (folder / "trainer_state.json").write_text("{}")
    assert last_checkpoint(tmp_path) == str(tmp_path / "checkpoint-10")
    assert last_checkpoint(tmp_path / "checkpoint-12") is None
