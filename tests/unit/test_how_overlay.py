"""The overlay of the how-key rerun test changes every how-key but the named few, each validly."""

from ossinstruct.config import HOW_KEYS, load_layered

from ..how_overlay import CHANGE_THE_JOBS, how_overlay


def test_the_overlay_changes_every_how_key_to_a_valid_other_value(tmp_path):
    import yaml

    overlay, keys = how_overlay()
    everything = {f"{section}.{key}" for section, dotted in HOW_KEYS.items() for key in dotted}
    assert set(keys) | set(CHANGE_THE_JOBS) == everything and not set(keys) & set(CHANGE_THE_JOBS)
    (tmp_path / "how.yaml").write_text(yaml.safe_dump(overlay))
    before, after = load_layered([]), load_layered([tmp_path / "how.yaml"])
    for key in keys:
        section, *parts = key.split(".")
        old, new = before[section], after[section]
        for part in parts:
            old, new = old[part], new[part]
        assert old != new, key
