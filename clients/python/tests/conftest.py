"""Starts the real ``ringfence serve`` binary on a free loopback port for the client's tests.

The binary is ``$RINGFENCE_BIN``, else ``.build/debug/ringfence`` in the repository; a missing
binary fails the tests (build it first: ``swift build``).
"""

from __future__ import annotations

import os
import pathlib
import re
import signal
import subprocess
import sys

import pytest

REPO = pathlib.Path(__file__).resolve().parents[3]
BINARY = pathlib.Path(os.environ.get("RINGFENCE_BIN", REPO / ".build" / "debug" / "ringfence"))

RUNTIME = """\
ringfence: 1
kind: runtime
name: test
limits:
  ring0: { rate: 1000000, burst: 1000000 }
  ring1: { rate: 1000000, burst: 1000000 }
  ring2: { rate: 1000000, burst: 1000000 }
  ring3: { rate: 1000000, burst: 1000000 }
"""

TOOLS = """\
ringfence: 1
kind: policy
name: tools
rules:
  - id: read-workspace
    effect: allow
    actions: [read_file, fs.read]
    resources: ["/workspace/**"]
    reason: workspace files are readable
  - id: no-secrets
    effect: deny
    actions: ["*"]
    resources: ["/workspace/secrets/**"]
    reason: secrets stay secret
  - id: search
    effect: allow
    action: web_search
    reason: searching is fine
"""


class Server:
    """A running ``ringfence serve``."""

    def __init__(self, args: list[str]):
        if not BINARY.exists():
            raise RuntimeError(f"no ringfence binary at {BINARY}: run `swift build` (or set RINGFENCE_BIN)")
        self.process = subprocess.Popen([str(BINARY), "serve", "--listen", "127.0.0.1:0", *args],
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        banner = self.process.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:(\d+)", banner)
        if not match:
            self.process.kill()
            raise RuntimeError(f"the server did not start: {banner!r} {self.process.stderr.read()}")
        self.port = int(match.group(1))
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=30)
        finally:
            self.process.stdout.close()
            self.process.stderr.close()


def write_policies(folder: pathlib.Path, policy: str = TOOLS) -> pathlib.Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "runtime.yaml").write_text(RUNTIME)
    (folder / "tools.yaml").write_text(policy)
    return folder


@pytest.fixture(scope="session")
def policies(tmp_path_factory) -> pathlib.Path:
    return write_policies(tmp_path_factory.mktemp("policies"))


@pytest.fixture(scope="module")
def server(policies, tmp_path_factory):
    state = tmp_path_factory.mktemp("state") / "state.db"
    running = Server(["-p", str(policies), "--state", f"sqlite:{state}"])
    yield running
    assert running.stop() == 0


@pytest.fixture
def unreachable_url() -> str:
    """A loopback URL nothing listens on."""
    import socket
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


AGENT = {"id": "agent-1", "trust": 0.8}
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
