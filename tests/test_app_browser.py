"""The app as a user meets it: started by its own command on a fresh data directory (so it
builds its default corpus first), opened in headless Debian chromium, a row clicked, its audio
played, and the served file checked to be a valid WAV."""
from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import soundfile as sf

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--autoplay-policy=no-user-gesture-required"]

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    data = tmp_path_factory.mktemp("appdata")
    port = _free_port()
    env = {**os.environ, "SPEECHRL_DATA": str(data)}
    log = open(data / "app.log", "w")
    proc = subprocess.Popen([sys.executable, "app.py", "--port", str(port), "--corpus-size", "20"],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 240
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("app exited:\n" + (data / "app.log").read_text()[-3000:])
        try:
            urllib.request.urlopen(url, timeout=2)
            break
        except OSError:
            time.sleep(0.5)
    else:
        proc.kill()
        raise RuntimeError("app did not start in 240 s:\n" + (data / "app.log").read_text()[-3000:])
    yield url
    proc.terminate()
    proc.wait(timeout=20)
    log.close()


@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.fail("Debian chromium is missing: `apt-get install chromium` (./studio test installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield b
        b.close()


def test_app_binds_localhost_only(app_url):
    assert app_url.startswith("http://127.0.0.1:")
    port = int(app_url.rsplit(":", 1)[1])
    ips = {a[4][0] for a in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)} - {"127.0.0.1", "127.0.1.1"}
    for ip in ips:   # the app must not answer on the machine's other addresses
        with socket.socket() as s:
            s.settimeout(1)
            assert s.connect_ex((ip, port)) != 0


def test_data_page_plays_audio(app_url, browser, tmp_path):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(app_url, wait_until="networkidle")
    page.get_by_text("Default corpus:").wait_for(timeout=20_000)       # home page reports the corpus
    page.goto(app_url + "/data", wait_until="networkidle")
    first = page.locator("#items-table").get_by_test_id("cell-0-0")
    first.wait_for(timeout=30_000)
    assert first.inner_text().strip() == "utt-00000"
    assert "22 items" in page.locator("#corpus-summary").inner_text()     # 20 short + 2 long recordings
    first.click()
    page.locator("#item-details").get_by_text("utt-00000").wait_for(timeout=20_000)

    link = page.locator("#item-audio a[data-testid='download-link']")
    link.wait_for(state="attached", timeout=20_000)
    body = page.request.get(link.get_attribute("href")).body()
    assert body[:4] == b"RIFF" and body[8:12] == b"WAVE"
    audio, sr = sf.read(io.BytesIO(body))
    assert sr == 16_000 and len(audio) / sr > 0.5

    page.locator("#item-audio button[aria-label='Play']").click()
    page.wait_for_function("""() => [...document.querySelectorAll('#item-audio *')]
        .flatMap(e => e.shadowRoot ? [...e.shadowRoot.querySelectorAll('audio')] : [])
        .concat([...document.querySelectorAll('#item-audio audio')])
        .some(a => !a.paused && a.currentTime > 0.2)""", timeout=10_000)
    shots = ROOT / "snaps"
    shots.mkdir(exist_ok=True)
    page.screenshot(path=str(shots / "data_page.png"), full_page=True)
    assert not errors, errors


def test_filter_and_bad_import_show_readable_errors(app_url, browser, tmp_path):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(app_url + "/data", wait_until="networkidle")
    page.locator("#items-table").get_by_test_id("cell-0-0").wait_for(timeout=30_000)
    page.get_by_label("Search text or keywords").fill("zzzz-no-such-text")
    page.get_by_label("Search text or keywords").press("Enter")
    page.get_by_text("Showing 0 of 0 matching rows").wait_for(timeout=10_000)

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"audio": "missing.wav", "text": "x"}\n{broken\n')
    page.get_by_text("Import your own speech").click()
    page.get_by_label("Manifest path on this machine").fill(str(bad))
    page.get_by_role("button", name="Import manifest").click()
    page.get_by_text("line 2: not valid JSON").first.wait_for(timeout=10_000)
    assert page.get_by_text("line 1: audio file not found").count() >= 1
