"""The Dagster UI in a real browser: Debian's headless Chromium through Playwright, on loopback only."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from fi_diarization_tests.conftest import PROJECT_ROOT

CHROMIUM = Path("/usr/bin/chromium")
# Headless, no GPU, and nothing that phones home (updates, sync, QUIC, background fetches).
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]
STAGES = ["audio", "chunks", "transcription", "speaker_turns", "speaker_segments", "speaker_roles", "transcript"]
CHECKS = ["no_empty_segments", "roles_labelled", "speaker_count_in_bounds", "words_cover_voiced_audio"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_server(base: str, proc: subprocess.Popen, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the webserver exited"
        try:
            with urllib.request.urlopen(base + "/server_info", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"no answer from {base}/server_info in {seconds:.0f} s")


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium (apt-get install chromium)")
def test_the_ui_shows_the_stages_the_timeline_and_the_checks(consult_run, tmp_path, capsys):
    sync_api = pytest.importorskip("playwright.sync_api", reason="needs Playwright for Python (pip install playwright)")
    assert consult_run.outcome.success, consult_run.outcome.reason
    base = f"http://127.0.0.1:{free_port()}"
    log = (tmp_path / "webserver.log").open("w")
    proc = subprocess.Popen(
        [str(Path(sys.executable).with_name("dagster-webserver")), "-w", "workspace.yaml",
         "-h", "127.0.0.1", "-p", base.rsplit(":", 1)[1]],
        cwd=PROJECT_ROOT, env={**os.environ, **consult_run.env}, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    outside: list[str] = []
    try:
        wait_for_server(base, proc, 180)
        with sync_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(90_000)

            def only_loopback(route):
                if route.request.url.startswith((base, "data:")):
                    return route.continue_()
                outside.append(route.request.url)
                return route.abort()

            page.route("**/*", only_loopback)
            expect = sync_api.expect
            expect.set_options(timeout=90_000)  # a loaded CI machine lays the graph out slowly

            # The asset graph upstream of the transcript: every stage is a node.
            page.goto(f"{base}/assets/transcript?view=lineage&lineageScope=upstream&lineageDepth=8")
            for stage in STAGES:
                expect(page.get_by_text(stage, exact=True).last).to_be_visible()
            page.screenshot(path=tmp_path / "ui-lineage.png")

            # The file's partition: the first turns inline, the timeline picture one click away.
            page.goto(f"{base}/assets/transcript?view=partitions&partition={consult_run.audio_id}")
            expect(page.get_by_text("SPEAKER_00 (doctor): Good morning", exact=False).first).to_be_visible()
            for key in ("rtf", "wall_s", "talk_share.SPEAKER_00", "words"):
                expect(page.get_by_role("cell", name=key, exact=True).first).to_be_visible()
            page.locator("tr", has_text="timeline").get_by_text("[Show Markdown]").click()
            picture = page.get_by_role("img", name="speaker timeline")
            expect(picture).to_be_visible()
            width, height = picture.evaluate("img => [img.naturalWidth, img.naturalHeight]")
            assert width > 300 and height > 80  # the PNG decoded, not a broken-image icon
            shot = tmp_path / "ui-transcript.png"
            page.screenshot(path=shot)
            page.get_by_role("button", name="Close").click()

            # The checks tab: all four checks ran on this file and passed.
            page.goto(f"{base}/assets/transcript?view=checks")
            for name in CHECKS:
                expect(page.get_by_text(name, exact=True).first).to_be_visible()
            expect(page.get_by_text("Succeeded", exact=True)).to_have_count(len(CHECKS))
            page.screenshot(path=tmp_path / "ui-checks.png")
            browser.close()
        with capsys.disabled():
            print(f"\nscreenshot: {shot}")
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)
        log.close()
    assert not outside, f"the page asked for addresses off this machine: {outside[:5]}"
