"""The preview gallery in a real headless browser: Debian's Chromium driven by Playwright.

The page is opened from ``file://`` with every non-file request blocked (the gallery must need no network).
It must load without console errors, show one thumbnail per image, all loaded, and its label filters must
hide the other images. A screenshot goes to ``test-artifacts/`` (or ``$TFOD_TEST_ARTIFACTS``).

Needs ``chromium`` (apt: chromium) and the ``playwright`` package (pip: tfodkit[browser]); skipped without them.
Playwright's own browser download is never used: the system Chromium is driven through ``executable_path``.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from tfodkit.formats import tfod
from tfodkit.inspection.preview import preview
from tfodkit.model import Dataset

pytestmark = pytest.mark.browser

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-default-apps",
    "--disable-sync",
    "--metrics-recording-only",
]
ARTIFACTS = Path(os.environ.get("TFOD_TEST_ARTIFACTS", Path(__file__).resolve().parents[2] / "test-artifacts"))


def _missing(reason: str) -> None:
    """Skip on a developer's machine without a browser; fail in CI (TFOD_REQUIRE_BROWSER=1), where it must run."""
    if os.environ.get("TFOD_REQUIRE_BROWSER"):
        pytest.fail(f"the browser test cannot run: {reason}")
    pytest.skip(reason)


def _chromium() -> str:
    for candidate in (os.environ.get("TFOD_CHROMIUM"), *CHROMIUM_CANDIDATES, shutil.which("chromium")):
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    _missing("no Chromium found (apt-get install -y chromium, or set TFOD_CHROMIUM)")
    raise AssertionError("unreachable")


@pytest.fixture
def browser_page():  # type: ignore[no-untyped-def]
    try:
        from playwright import sync_api
    except ImportError:
        _missing("playwright is not installed (pip install 'tfodkit[browser]')")
    executable = _chromium()
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            yield page
        finally:
            browser.close()


def test_gallery_loads_offline_and_filters_by_label(browser_page, tmp_path: Path, dataset: Dataset) -> None:  # type: ignore[no-untyped-def]
    records = tmp_path / "records"
    tfod.write(dataset, str(records), save_images=True)
    out = tmp_path / "preview"
    report = preview(str(records), str(out))
    items = list(tfod.read(str(records)))
    assert report.images == len(items) == 4

    page = browser_page
    problems: list[str] = []
    page.on(
        "console",
        lambda message: (
            problems.append(f"console {message.type}: {message.text}") if message.type in ("error", "warning") else None
        ),
    )
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("requestfailed", lambda request: problems.append(f"request failed: {request.url}"))
    network: list[str] = []

    def only_files(route, request):  # type: ignore[no-untyped-def]
        if request.url.startswith("file://"):
            route.continue_()
        else:
            network.append(request.url)
            route.abort()

    page.route("**/*", only_files)
    page.goto((out / "index.html").as_uri(), wait_until="load")

    cards = page.locator("figure.card")
    assert cards.count() == len(items)
    assert page.locator("figure.card:visible").count() == len(items)
    assert page.evaluate("Array.from(document.images).every(image => image.complete && image.naturalWidth > 0)")
    assert page.locator("#shown").inner_text() == str(len(items))

    # "none", then one label: only the images holding that label stay visible
    label = dataset.label_map.name_of(2)
    expected = sum(2 in item.objects.label_ids.tolist() for item in items)
    assert 0 < expected < len(items)
    page.click("#check-none")
    assert page.locator("figure.card:visible").count() == 0
    page.locator(f"input.label-filter[value={json.dumps(label, ensure_ascii=False)}]").check()
    visible = page.locator("figure.card:visible")
    assert visible.count() == expected
    assert page.locator("#shown").inner_text() == str(expected)
    for index in range(visible.count()):
        assert label in json.loads(visible.nth(index).get_attribute("data-labels") or "[]")

    # the subset filter narrows further
    page.click("#check-all")
    page.select_option("#subset-filter", "val")
    assert page.locator("figure.card:visible").count() == sum(item.subset == "val" for item in items)
    page.select_option("#subset-filter", "")

    screenshot = tmp_path / "gallery.png"
    page.screenshot(path=str(screenshot), full_page=True)
    assert screenshot.stat().st_size > 10_000
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(screenshot, ARTIFACTS / "gallery.png")

    assert problems == []
    assert network == []
