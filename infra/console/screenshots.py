"""Screenshots of the console's pages over an event index: the closing list of ``make demo``.

    .venv/bin/python infra/console/screenshots.py --database sqlite:///.state/demo.db \
        --athlete acme:nba-0001 --out .state/screenshots

Starts ``crowdlog console`` (read-only) on a free loopback port, waits until it answers
``/readyz``, then drives Debian's headless Chromium (``infra/browser/install.sh``) through
selenium, a development dependency, over the pages an auditor opens first: search, an athlete
with its lineage tree, an event, the crowd and a blocked worker, the model, a redaction dry run
and pipeline health. One PNG a page; their paths are printed. It lives beside the demo, not in
``streams``: the console itself needs no browser.
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
ROOT = Path(__file__).resolve().parents[2]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", required=True, help="the event index's SQLAlchemy URL")
    parser.add_argument("--athlete", required=True, help="entity id of the athlete page to show")
    parser.add_argument("--redact-source", default="provider:acme-sample",
                        help="provenance source the dry-run form previews")
    parser.add_argument("--out", type=Path, required=True, help="where the PNGs go")
    args = parser.parse_args(argv)
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        print(f"no screenshots: {CHROMIUM} or {CHROMEDRIVER} is missing "
              "(infra/browser/install.sh installs them)", file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    with console(args.database) as base, browser() as driver:
        for name, show in pages(base, args.athlete, args.redact_source):
            show(driver)
            path = args.out / f"{name}.png"
            driver.save_screenshot(str(path))
            print(path)
    return 0


def pages(base: str, athlete: str,
          source: str) -> list[tuple[str, Callable[[WebDriver], None]]]:
    """The pages in the order they are shot: each a name and how to get there."""
    def open_(path: str) -> Callable[[WebDriver], None]:
        return lambda driver: driver.get(base + path)

    def follow(path: str, link: str) -> Callable[[WebDriver], None]:
        def go(driver: WebDriver) -> None:
            driver.get(base + path)
            driver.find_element(By.CSS_SELECTOR, link).click()
        return go

    def dry_run(driver: WebDriver) -> None:
        driver.get(base + "/redactions")
        driver.find_element(By.ID, "source").send_keys(source)
        driver.find_element(By.ID, "dry-run").click()
        driver.find_element(By.CSS_SELECTOR, "main")  # the preview page has loaded

    ref = athlete.split(":", 1)[-1]
    return [("1-search", open_(f"/search?q={ref}")),
            ("2-athlete", open_(f"/athletes/{athlete}")),
            ("3-event", follow(f"/athletes/{athlete}", "a[href^='/events/']")),
            ("4-crowd", open_("/crowd")),
            ("5-worker", follow("/crowd", "a[href^='/workers/']")),
            ("6-model", open_("/model")),
            ("7-redaction-dry-run", dry_run),
            ("8-health", open_("/health"))]


@contextmanager
def console(database: str) -> Iterator[str]:
    """``crowdlog console`` on a free loopback port until the block ends; its base URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [str(ROOT / ".venv/bin/crowdlog"), "console", "--database", database,
         "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while not _ready(base):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"crowdlog console did not come up on {base}")
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(30)


def _ready(base: str) -> bool:
    try:
        with urllib.request.urlopen(base + "/readyz", timeout=2) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False


@contextmanager
def browser() -> Iterator[WebDriver]:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu",
                     "--disable-dev-shm-usage", "--window-size=1280,1000"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.implicitly_wait(5)  # find_element waits for the element to appear
    try:
        yield driver
    finally:
        driver.quit()


if __name__ == "__main__":
    sys.exit(main())
