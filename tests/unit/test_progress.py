"""Progress of long jobs: rate and time left as log lines when stderr is not a terminal."""

import logging
import re

from ossinstruct.progress import Progress, duration, tracked


def test_log_lines_carry_done_rate_and_time_left(caplog, monkeypatch):
    clock = iter([100.0, 110.0, 110.0, 120.0, 120.0, 130.0]).__next__  # start, then (check, line) per call
    monkeypatch.setattr("ossinstruct.progress.time.monotonic", clock)
    with caplog.at_level(logging.INFO, logger="ossinstruct.progress"):
        progress = Progress(400, "categories", every_s=5.0, terminal=False)
        progress.advance(100)  # at 110 s: 100 rows in 10 s
        progress.advance(100)  # at 120 s
        progress.close()  # at 130 s, 200 of 400
    lines = [record.getMessage() for record in caplog.records]
    assert lines[0] == "categories: 0/400 rows"
    assert lines[1] == "categories: 100/400 rows (25.0%), 10.0 rows/s, 30 s left"
    assert lines[2] == "categories: 200/400 rows (50.0%), 10.0 rows/s, 20 s left"
    assert lines[3] == "categories: 200/400 rows (50.0%), 6.7 rows/s, 30 s left"


def test_lines_are_spaced_and_the_last_says_done(caplog):
    with caplog.at_level(logging.INFO, logger="ossinstruct.progress"):
        items = list(tracked(range(1000), 1000, "similarity", every_s=3600))
    assert items == list(range(1000))
    lines = [record.getMessage() for record in caplog.records]
    assert len(lines) == 2  # the start and the end: nothing in between within an hour
    assert re.fullmatch(r"similarity: 1,000/1,000 rows \(100\.0%\), [\d.]+ rows/s, done in \d+ s", lines[1])


def test_durations_read_as_hours_minutes_seconds():
    assert [duration(s) for s in (4.4, 75, 3600 + 61 * 60)] == ["4 s", "1 min 15 s", "2 h 1 min"]
