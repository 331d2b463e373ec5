"""Exposure: the UI on loopback by default, and a read-only webserver for people who look but do not launch."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from fi_diarization_tests.conftest import PROJECT_ROOT, project_env

LAUNCH = """mutation {
  launchRun(executionParams: {
    selector: {repositoryLocationName: "fi_diarization", repositoryName: "__repository__", jobName: "transcribe_audio"},
    runConfigData: "{}"}) { __typename }
}"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def listening_on(port: int) -> set[str]:
    """The IPv4 addresses a socket listens on at `port` (from /proc/net/tcp, state 0A)."""
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        host, hex_port = local.split(":")
        if state == "0A" and int(hex_port, 16) == port:
            found.add(socket.inet_ntoa(bytes.fromhex(host)[::-1]))
    return found


def graphql(port: int, query: str) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql", json.dumps({"query": query}).encode(), {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as reply:
        return json.loads(reply.read())["data"]


def test_read_only_webserver_on_loopback_refuses_to_launch(tmp_path):
    port = free_port()
    env = {**os.environ, **project_env(tmp_path)}
    # The README's command for people who should look but not launch.
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("dagster-webserver")), "--read-only", "-h", "127.0.0.1", "-p", str(port),
         "-w", "workspace.yaml"],
        cwd=PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=5):
                    break
            except OSError:
                assert server.poll() is None, "the webserver exited"
                time.sleep(0.5)
        assert listening_on(port) == {"127.0.0.1"}
        permissions = graphql(port, "{ permissions { permission value } }")["permissions"]
        assert {p["permission"]: p["value"] for p in permissions}["launch_pipeline_execution"] is False
        assert graphql(port, LAUNCH)["launchRun"]["__typename"] == "UnauthorizedError"
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)
