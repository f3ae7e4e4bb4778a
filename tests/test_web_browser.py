"""The upload page in a real browser: headless Chromium (Debian's chromium + chromedriver, driven by
Selenium) chooses a clip in the page's file input, and the page shows the model's answer.

The app is served by waitress on 127.0.0.1 in a thread. Skipped, with the reason, where Chromium or
chromedriver is not installed (a host without harflow's root file system).
"""

import pytest
from web_fixtures import claim_frames, export_untrained_model, write_clip

from benchmarks.web_screenshot import browser_missing, chromium, upload_through_the_page
from harflow.config import WebConfig
from harflow.serving.predictor import open_predictor, predict_file
from harflow.serving.web.server import BackgroundServer

pytestmark = pytest.mark.skipif(browser_missing() is not None, reason=f"no headless browser: {browser_missing()}")


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return export_untrained_model(tmp_path_factory.mktemp("browser-model") / "harflow" / "1", seed=5).parent


@pytest.fixture(scope="module")
def browser():
    driver = chromium()
    yield driver
    driver.quit()


def test_an_upload_through_the_page_shows_the_models_top_class_and_bars(model, browser, tmp_path):
    clip = write_clip(tmp_path / "my clip.avi", seed=9, frames=80)  # 3.2 s: two 2-s windows
    expected = predict_file(open_predictor(model=model), clip, top=5)
    with BackgroundServer(open_predictor(model=model), WebConfig(host="127.0.0.1", port=0)) as server:
        shown = upload_through_the_page(browser, server.url, clip)
    assert shown["error"] is None
    assert shown["top_class"] == expected[0][0]
    assert shown["bars"] == [name for name, _ in expected]
    assert len(shown["timeline"]) == 2 and shown["frames"] == 4


def test_a_file_that_is_not_a_video_shows_the_servers_message(model, browser, tmp_path):
    fake = tmp_path / "fake.mp4"
    fake.write_text("not a video at all\n" * 10)
    with BackgroundServer(open_predictor(model=model), WebConfig(host="127.0.0.1", port=0)) as server:
        shown = upload_through_the_page(browser, server.url, fake)
    assert shown["error"].startswith("fake.mp4: not a video that can be decoded")


def test_a_clip_past_the_limit_whose_header_lies_is_shown_as_longer_than_the_limit_with_the_claim_labelled(model, browser, tmp_path):
    """Issue 17, point 7: 3.2 s whose AVI header claims 10 million frames, served with a 2-s limit."""
    liar = claim_frames(write_clip(tmp_path / "liar.avi", seed=9, frames=80), 10_000_000)
    with BackgroundServer(open_predictor(model=model), WebConfig(host="127.0.0.1", port=0, max_clip_seconds=2.0)) as server:
        shown = upload_through_the_page(browser, server.url, liar)
    assert shown["error"] is None
    assert shown["truncated"] == "This clip is longer than 2 s (its header claims 400000 s): only its first 2 s were analysed."
