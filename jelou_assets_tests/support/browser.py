"""The headless browser the UI tests and `make screenshots` share: Debian's chromium, driven by Playwright.

Playwright's own browser downloads are never used (nothing outside the package registries is reachable);
it drives the system chromium that `.ci/run` installs, at the size the screenshots in docs/ are taken.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager

from playwright.sync_api import Browser, sync_playwright

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
VIEWPORT = {"width": 1280, "height": 900}
# Root in a container has no user namespaces for chromium's sandbox; the GPU is absent headless anyway.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu"]


@contextmanager
def headless_chromium() -> Iterator[Browser]:
    """The system chromium, headless; closed (its processes gone) on exit."""
    if CHROMIUM is None:
        raise RuntimeError("no chromium on PATH: apt-get install -y --no-install-recommends chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
