"""A confirmed /retrain starts a real background process, one at a time, and its end is logged."""

from __future__ import annotations

import io
import json
import logging
import sys
import time
from pathlib import Path

from composition.runtime.retrain import TRAIN_ARGV, RetrainRunner


def _logger() -> tuple[logging.Logger, io.StringIO]:
    buf = io.StringIO()
    log = logging.getLogger(f"retrain-test-{time.monotonic_ns()}")
    handler = logging.StreamHandler(buf)
    handler.setFormatter(logging.Formatter("%(message)s %(ctx)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    return log, buf


def test_starts_once_while_running_and_logs_the_exit(tmp_path: Path) -> None:
    log, buf = _logger()
    marker = tmp_path / "ran"
    script = f"import time, pathlib; time.sleep(1.0); pathlib.Path({str(marker)!r}).write_text('ok'); print('trained')"
    runner = RetrainRunner(log, tmp_path / "logs" / "retrain.log", argv=(sys.executable, "-c", script))
    started, pid = runner.start("req-1")
    again, same_pid = runner.start("req-2")
    assert started is True and again is False and same_pid == pid
    deadline = time.monotonic() + 30
    while runner.running_pid() is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.2)  # the watcher thread logs right after the exit
    assert marker.read_text() == "ok"
    assert "trained" in (tmp_path / "logs" / "retrain.log").read_text()
    out = buf.getvalue()
    assert "retrain_started" in out and "retrain_already_running" in out and "retrain_finished" in out
    assert "'exit_code': 0" in out
    restarted, new_pid = runner.start("req-3")  # finished: a new request starts a new process
    assert restarted and new_pid != pid


def test_the_default_command_is_the_project_train_command() -> None:
    assert TRAIN_ARGV[1:4] == ("-m", "composition", "train")
    json.dumps(TRAIN_ARGV)  # plain strings, no shell
