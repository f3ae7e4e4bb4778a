"""The web app in headless Chromium: upload a clip through the page, wait for the answer, take a screenshot.

    bin/harflow env run -- python benchmarks/web_screenshot.py --model harflow-work/serving/harflow --out docs/web-app.png

Not a timing: this script makes the screenshot in docs/ (docs/web.md) and holds
the browser helpers that tests/test_web_browser.py uses. It serves the app with
waitress on 127.0.0.1 (a free port), drives Debian's chromium through
chromedriver (Selenium), and uploads a synthetic clip made of several actions
one after another (harflow.datasets.synth), so the page shows a timeline too. With a model
trained by `harflow demo`, the top classes and the timeline are the actions drawn.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"


def browser_missing() -> str | None:
    """Why no headless browser can run here, or None when Chromium and chromedriver are installed."""
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not Path(path).exists() and not shutil.which(Path(path).name)]
    return f"{' and '.join(missing)} not installed (Debian: apt-get install chromium chromium-driver)" if missing else None


def chromium(width: int = 1100, height: int = 900):
    """Headless Chromium through chromedriver (no download: Debian's binaries)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", f"--window-size={width},{height}"):
        options.add_argument(argument)
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


def upload_through_the_page(driver, url: str, clip: Path, timeout: float = 180.0) -> dict:
    """Open the page, choose `clip` in its file input, wait for the answer; what the page shows."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(url)
    driver.find_element(By.ID, "file").send_keys(str(clip))
    shown = lambda d: d.find_element(By.ID, "result").is_displayed() or d.find_element(By.ID, "error").is_displayed()  # noqa: E731
    WebDriverWait(driver, timeout).until(shown)
    text = lambda element_id: driver.find_element(By.ID, element_id).text  # noqa: E731
    return {
        "error": text("error") if driver.find_element(By.ID, "error").is_displayed() else None,
        "top_class": text("top-class"),
        "bars": [item.text.split("\n")[0] for item in driver.find_elements(By.CSS_SELECTOR, "#classes li")],
        "timeline": [block.text for block in driver.find_elements(By.CSS_SELECTOR, "#timeline div")],
        "frames": len(driver.find_elements(By.CSS_SELECTOR, "#frames img")),
        "truncated": text("truncated") if driver.find_element(By.ID, "truncated").is_displayed() else None,
    }


def actions_clip(path: Path, actions: list[str], seconds_each: float = 2.0, size: int = 160, fps: float = 25.0) -> Path:
    """A WebM (VP8, which browsers play) of synthetic actions one after another, each `seconds_each` long."""
    import numpy as np

    from harflow.datasets.synth import SynthConfig, render_clip
    from harflow.video import write_video

    config = SynthConfig(frames=int(seconds_each * fps), size=size, fps=fps)
    rng = np.random.default_rng(7)
    frames = np.concatenate([render_clip(action, rng, config) for action in actions])
    write_video(path, frames, fps=fps)  # .webm: VP8
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="a SavedModel or TF Serving base path (e.g. one `harflow demo` pushed)")
    parser.add_argument("--out", default="docs/web-app.png", help="(default: %(default)s)")
    parser.add_argument("--actions", default="MoveLeft,RotateClockwise,Grow", help="the clip's actions, 2 s each (default: %(default)s)")
    args = parser.parse_args()
    reason = browser_missing()
    if reason:
        raise SystemExit(f"no headless browser: {reason}")

    from harflow.config import WebConfig
    from harflow.serving.predictor import open_predictor
    from harflow.serving.web.server import BackgroundServer

    with tempfile.TemporaryDirectory(prefix="harflow-screenshot-") as tmp:
        clip = actions_clip(Path(tmp) / "three actions.webm", args.actions.split(","))
        with BackgroundServer(open_predictor(model=args.model), WebConfig(host="127.0.0.1", port=0)) as server:
            driver = chromium()
            try:
                shown = upload_through_the_page(driver, server.url, clip)
                driver.execute_script("document.getElementById('player').pause(); document.getElementById('player').currentTime = 1.0;")
                driver.save_screenshot(args.out)
            finally:
                driver.quit()
    print(f"the page shows: {shown}\nwrote {args.out}")


if __name__ == "__main__":
    main()
