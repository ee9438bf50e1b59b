"""Run the whole system the way an operator does: `minwon run` as a real process, or one
distributed service (`minwon service <name>`) per process; read /metrics as Prometheus would."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class MinwonProcess:
    """`minwon run` on embedded storage in ``data_dir``; restartable; killable with SIGKILL.

    ``args`` chooses the command (``("service", "intake")``: one service; ``env`` then sets
    ``MINWON_BACKEND=distributed`` and the brokers). Logs go to ``data_dir/<name>-<ms>.log``.
    """

    data_dir: Path
    port: int = field(default_factory=free_port)
    env: dict[str, str] = field(default_factory=dict)
    args: Sequence[str] = ("run",)
    name: str = "minwon"
    proc: subprocess.Popen[bytes] | None = None
    log: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout: float = 60, *, wait: bool = True) -> None:
        """Start the process; with ``wait``, return once ``/readyz`` answers 200."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log = self.data_dir / f"{self.name}-{int(time.time() * 1000)}.log"
        env = {
            **os.environ,
            "MINWON_DATA_DIR": str(self.data_dir),
            "MINWON_HTTP_PORT": str(self.port),
            "MINWON_BACKEND": "embedded",
            "MINWON_OUTBOX_INTERVAL_SECONDS": "0.2",
            "MINWON_TIMER_INTERVAL_SECONDS": "0.2",
            **self.env,
        }
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "apps.cli", *self.args],
            cwd=ROOT,
            env=env,
            stdout=self.log.open("wb"),
            stderr=subprocess.STDOUT,
        )
        if wait:
            self.wait_ready(timeout)

    def wait_ready(self, timeout: float = 60) -> None:
        assert self.proc is not None and self.log is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}: {self.log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not become ready: {self.log.read_text()[-3000:]}")

    def kill(self) -> None:
        """SIGKILL: no shutdown hooks, no flushing — a crash."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return httpx.get(self.url + path, timeout=10, **kw)

    def post(self, path: str, **kw: Any) -> httpx.Response:
        return httpx.post(self.url + path, timeout=10, **kw)

    def metrics(self) -> dict[str, list[tuple[dict[str, str], float]]]:
        """This process's ``/metrics``, parsed (see :func:`parse_metrics`)."""
        r = self.get("/metrics")
        r.raise_for_status()
        return parse_metrics(r.text)


_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_metrics(text: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    """Prometheus text format -> {metric name: [(labels, value), ...]} (comments skipped)."""
    out: dict[str, list[tuple[dict[str, str], float]]] = {}
    for line in text.splitlines():
        m = _SAMPLE.match(line)
        if not m or line.startswith("#"):
            continue
        labels = dict(_LABEL.findall(m.group(2) or ""))
        out.setdefault(m.group(1), []).append((labels, float(m.group(3))))
    return out


def wait_for(predicate, timeout: float = 30.0, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s (last: {last!r})")
