"""The console in a real browser: Debian's headless Chromium, driven by selenium.

The console runs under uvicorn on a free loopback port, over an index filled by a small
in-process run (``tests.console_index``). The browser searches for an athlete, opens the
lineage tree and follows a node to its event, runs a redaction dry run, and downloads a dead
letter's original bytes; a screenshot of each page is saved (``CROWDLOG_SCREENSHOTS``, by
default the test's own directory) for people to look at.

Chromium and chromedriver come from Debian (``infra/browser/install.sh``); without them the
test is skipped, or fails under ``CROWDLOG_REQUIRE_SERVICES=1``.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import uvicorn
from sqlalchemy import create_engine

from streams.console.app import ConsoleConfig, create_app, read_only_engine
from streams.settings import Settings
from tests.conftest import missing_service
from tests.console_index import UNDECODABLE, IndexFacts, sqlite_index

CHROMIUM = os.environ.get("CROWDLOG_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CROWDLOG_CHROMEDRIVER", "/usr/bin/chromedriver")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def facts(tmp_path_factory: pytest.TempPathFactory) -> IndexFacts:
    return sqlite_index(tmp_path_factory.mktemp("console-browser"))


@pytest.fixture(scope="module")
def console(facts: IndexFacts) -> Iterator[str]:
    """The console's base URL, served by uvicorn from a thread until the module is done."""
    engine = read_only_engine(create_engine(facts.url))
    app = create_app(engine, ConsoleConfig(Settings(bootstrap_servers="127.0.0.1:1")))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=_free_port(),
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:  # a condition, not a timed wait: uvicorn says when it listens
        assert thread.is_alive(), "uvicorn stopped before it started"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{server.config.port}"
    server.should_exit = True
    thread.join()
    engine.dispose()


@pytest.fixture(scope="module")
def downloads(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("downloads")


@pytest.fixture(scope="module")
def browser(downloads: Path) -> Iterator[object]:
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        missing_service(f"no headless Chromium: {CHROMIUM} or {CHROMEDRIVER} is missing "
                        "(infra/browser/install.sh installs Debian's chromium, chromium-driver)")
    from selenium import webdriver  # noqa: PLC0415 - only where a browser is
    from selenium.webdriver.chrome.service import Service  # noqa: PLC0415

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu",
                     "--disable-dev-shm-usage", "--window-size=1280,1000"):
        options.add_argument(argument)
    options.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                              "download.prompt_for_download": False})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.implicitly_wait(5)  # find_element waits for the element: a condition
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = os.environ.get("CROWDLOG_SCREENSHOTS")
    path = Path(where) if where else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


def _wait_for(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    """Wait until ``condition()`` holds (polling), failing with ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.1)


def test_search_lineage_dry_run_and_dead_letter_in_a_browser(
        console: str, browser: object, facts: IndexFacts, shots: Path,
        downloads: Path) -> None:
    from selenium.webdriver.common.by import By  # noqa: PLC0415
    from selenium.webdriver.common.keys import Keys  # noqa: PLC0415
    from selenium.webdriver.remote.webdriver import WebDriver  # noqa: PLC0415

    assert isinstance(browser, WebDriver)
    browser.get(console + "/")
    assert "events" in browser.find_element(By.ID, "freshness").text
    browser.save_screenshot(str(shots / "01-home.png"))

    box = browser.find_element(By.ID, "q")
    box.send_keys(facts.athlete_name + Keys.RETURN)
    browser.find_element(By.ID, "athletes").find_element(By.LINK_TEXT, facts.athlete_name).click()
    assert browser.find_element(By.TAG_NAME, "h1").text == facts.athlete_name
    tree = browser.find_element(By.ID, "lineage")
    nodes = tree.find_elements(By.TAG_NAME, "a")
    assert len(nodes) > 10
    browser.save_screenshot(str(shots / "02-athlete.png"))
    target = nodes[-1].text
    nodes[-1].click()
    assert target in browser.find_element(By.TAG_NAME, "h1").text
    browser.save_screenshot(str(shots / "03-event.png"))

    browser.get(console + "/redactions")
    form = browser.find_element(By.ID, "redaction-form")
    form.find_element(By.NAME, "stage").send_keys("enrichment")
    form.find_element(By.NAME, "reason").send_keys("audit: profiles fetched by a bad build")
    browser.find_element(By.ID, "dry-run").click()
    impact = browser.find_element(By.ID, "impact").text
    assert impact.startswith("events retracted: ") and "profiles" in impact
    assert "Dry run: nothing written." in browser.find_element(By.ID, "preview").text
    browser.save_screenshot(str(shots / "04-dry-run.png"))

    browser.get(console + "/redactions")
    browser.find_element(By.ID, "dry-run").click()  # no criterion, no reason
    assert "reason" in browser.find_element(By.ID, "error").text
    browser.save_screenshot(str(shots / "05-form-error.png"))

    for page, name in (("/crowd", "06-crowd"), (f"/workers/{facts.worker}", "07-worker"),
                       ("/model", "08-model")):
        browser.get(console + page)
        browser.find_element(By.TAG_NAME, "h1")
        browser.save_screenshot(str(shots / f"{name}.png"))

    browser.get(console + "/health")
    browser.save_screenshot(str(shots / "09-health.png"))
    link = browser.find_element(By.CSS_SELECTOR,
                                f'a[href="/deadletters/{facts.dead_letter}/original"]')
    link.click()
    saved = downloads / f"deadletter-{facts.dead_letter}.bin"
    _wait_for(saved.exists, f"the download {saved.name}")
    assert saved.read_bytes() == UNDECODABLE

    browser.get(console + "/events/0123456789abcdef0123456789abcdef")
    assert "0123456789abcdef0123456789abcdef" in browser.find_element(By.ID, "error").text
    browser.save_screenshot(str(shots / "10-not-found.png"))
    assert len(list(shots.glob("*.png"))) == 10
