"""Runs a confirmed /retrain: `trading-ai train` in a background process, one at a time.

The scan loop must never wait for training, so the retrain is a separate, low-priority process
(`nice`), started without a shell, its output appended to a log file. A request while one is
running is answered with the running one's pid instead of starting a second.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess  # nosec B404
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

TRAIN_ARGV: tuple[str, ...] = (sys.executable, "-m", "composition", "train", "--no-progress")


class RetrainRunner:
    def __init__(self, log: logging.Logger, log_path: str | os.PathLike[str], argv: Sequence[str] = TRAIN_ARGV) -> None:
        self.log = log
        self.log_path = Path(log_path)
        self.argv = tuple(argv)
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()

    def running_pid(self) -> int | None:
        with self._lock:
            if self._proc is not None and self._proc.poll() is None:
                return self._proc.pid
            return None

    def start(self, request_id: str) -> tuple[bool, int]:
        """(started, pid): starts a retrain unless one is running, whose pid is returned instead."""
        with self._lock:
            if self._proc is not None and self._proc.poll() is None:
                self.log.info(
                    "retrain_already_running", extra={"ctx": {"request_id": request_id, "pid": self._proc.pid}}
                )
                return False, self._proc.pid
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            with self.log_path.open("ab") as out:
                # A fixed argument list and no shell; `nice` keeps the scan loop's CPU share.
                self._proc = subprocess.Popen(  # noqa: S603  # nosec B603
                    _niced(self.argv),
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                )
            proc = self._proc
        self.log.info(
            "retrain_started", extra={"ctx": {"request_id": request_id, "pid": proc.pid, "log": str(self.log_path)}}
        )
        threading.Thread(target=self._watch, args=(proc, request_id), daemon=True).start()
        return True, proc.pid

    def _watch(self, proc: subprocess.Popen[bytes], request_id: str) -> None:
        code = proc.wait()
        level = logging.INFO if code == 0 else logging.WARNING
        self.log.log(
            level,
            "retrain_finished",
            extra={"ctx": {"request_id": request_id, "pid": proc.pid, "exit_code": code, "log": str(self.log_path)}},
        )

    def stop(self) -> None:
        """On service shutdown a running retrain is left to finish on its own (it writes its own files)."""


def _niced(argv: tuple[str, ...]) -> tuple[str, ...]:
    nice = shutil.which("nice")
    return (nice, "-n", "19", *argv) if nice else argv
