"""A real `voicecart serve` process on loopback, for server and browser tests."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import alexa

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cli_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "voicecart", *args]


class Server:
    def __init__(self, tmp: Path, *, verify: bool, **extra_env: str) -> None:
        self.port = _free_port()
        self.env = {
            **os.environ,
            "VOICECART_DATABASE_URL": f"sqlite:///{tmp / 'server.db'}",
            "VOICECART_VERIFY_ALEXA_REQUESTS": "1" if verify else "0",
            "VOICECART_SKILL_ID": alexa.SKILL_ID,
            "VOICECART_PORT": str(self.port),
            "VOICECART_WORKERS": "2",
            **extra_env,
        }
        seeded = subprocess.run(
            cli_command("seed", "--demo"), env=self.env, cwd=ROOT, capture_output=True,
            text=True, timeout=120, check=False,
        )  # fmt: skip
        assert seeded.returncode == 0, seeded.stderr
        self.log = tmp / "server.log"
        self._log_file = self.log.open("w")
        self.process = subprocess.Popen(
            cli_command("serve"), env=self.env, cwd=ROOT, stdout=self._log_file,
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        try:
            self._wait_until_healthy(deadline=time.monotonic() + 120)
        except BaseException:
            self.stop()  # never leave a server process or its log open behind a failure
            raise

    def _wait_until_healthy(self, deadline: float) -> None:
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=5) as reply:
                    if reply.status == 200:
                        return
            except (urllib.error.URLError, OSError):  # refused, reset or timed out while starting
                time.sleep(0.2)
        raise AssertionError(f"server did not start:\n{self.log.read_text()}")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def post(self, body: bytes) -> tuple[int, dict[str, Any]]:
        request = urllib.request.Request(
            f"{self.url}/alexa", data=body, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as reply:
                return reply.status, json.loads(reply.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=30)
        self._log_file.close()
