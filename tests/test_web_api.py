"""The web app's JSON API (serving.web.app) with a real exported model, through Flask's test client.

Each answer is the documented one (docs/web.md), and no uploaded file is left
in the upload folder afterwards, whatever happened.
"""

import io
import threading
import time

import pytest
from web_fixtures import claim_frames, export_untrained_model, frame_count, png_file, write_clip

from harflow.config import WebConfig
from harflow.serving.predictor import open_predictor, predict_file
from harflow.serving.web.app import create_app, display_name


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    root = tmp_path_factory.mktemp("web-model")
    export_untrained_model(root / "harflow" / "1", seed=7)
    return root / "harflow"


@pytest.fixture(scope="module")
def predictor(model):
    return open_predictor(model=model)


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    root = tmp_path_factory.mktemp("web-clips")
    return {"short": write_clip(root / "short.avi", seed=1), "long": write_clip(root / "long.avi", seed=2, frames=150)}


@pytest.fixture
def uploads(tmp_path):
    return tmp_path / "uploads"


def client_for(predictor, uploads, **settings):
    config = WebConfig(upload_dir=str(uploads), **settings)
    return create_app(predictor, config).test_client()


def post(client, content: bytes, name: str):
    return client.post("/api/predict", data={"clip": (io.BytesIO(content), name)}, content_type="multipart/form-data")


def test_a_good_clip_gets_the_models_top_classes(predictor, model, clips, uploads):
    response = post(client_for(predictor, uploads), clips["short"].read_bytes(), "short.avi")
    assert response.status_code == 200
    answer = response.get_json()
    expected = predict_file(open_predictor(model=model), clips["short"], top=5)
    assert [entry["class"] for entry in answer["top"]] == [name for name, _ in expected]
    assert answer["top"][0]["probability"] == pytest.approx(expected[0][1], abs=1e-5)
    assert answer["file"] == "short.avi" and answer["seconds"] > 0 and answer["truncated"] is False
    assert answer["timeline"] == []  # 12 frames at 25 fps: shorter than one 2-s window
    assert len(answer["frames"]) == predictor.num_frames and answer["frames"][0].startswith("data:image/jpeg;base64,")
    assert list(uploads.iterdir()) == []


def test_a_clip_longer_than_a_window_gets_a_timeline_of_its_windows(predictor, clips, uploads):
    answer = post(client_for(predictor, uploads, window_seconds=2.0), clips["long"].read_bytes(), "long.avi").get_json()
    # 150 frames at 25 fps = 6 s: windows 0-2, 2-4, 4-6 s
    assert [(s["start_s"], s["end_s"]) for s in answer["timeline"]] == [(0.0, 2.0), (2.0, 4.0), (4.0, 6.0)]
    assert {s["class"] for s in answer["timeline"]} <= set(predictor.classes)


def test_only_the_first_max_clip_seconds_are_analysed_and_the_answer_says_so(predictor, clips, uploads):
    answer = post(client_for(predictor, uploads, max_clip_seconds=3.0), clips["long"].read_bytes(), "long.avi").get_json()
    assert answer["truncated"] is True and answer["analysed_s"] == 3.0
    # counting stopped one frame past the cap: at least 76 frames (3.04 s); the 6 s are the header's, labelled so
    assert answer["duration_s"] == 3.04 and answer["duration_complete"] is False and answer["header_duration_s"] == 6.0
    assert answer["timeline"][-1]["end_s"] == 3.0


def test_a_clip_read_to_its_end_has_a_complete_duration_and_the_headers_beside_it(predictor, clips, uploads):
    answer = post(client_for(predictor, uploads), clips["long"].read_bytes(), "long.avi").get_json()
    assert (answer["duration_s"], answer["duration_complete"], answer["header_duration_s"], answer["truncated"]) == (6.0, True, 6.0, False)


def test_a_clip_whose_header_overstates_its_frames_reports_the_duration_of_what_decodes(predictor, uploads, tmp_path):
    cut = write_clip(tmp_path / "cut.avi", seed=4, frames=100)  # 4 s at 25 fps, the header says 100 frames
    cut.write_bytes(cut.read_bytes()[: cut.stat().st_size // 2])  # ... and still does after the cut
    decoded = frame_count(cut)
    assert 0 < decoded < 100
    answer = post(client_for(predictor, uploads), cut.read_bytes(), "cut.avi").get_json()
    assert answer["duration_s"] == round(decoded / 25, 3) and answer["truncated"] is False and answer["top"]


def test_a_1_2_s_clip_whose_avi_header_claims_ten_million_frames_is_1_2_s_long(predictor, uploads, tmp_path):
    """Issue 17, point 7: the header's avih/strh frame counts patched, not a mocked capture."""
    import cv2

    liar = claim_frames(write_clip(tmp_path / "liar.avi", seed=5, frames=30), 10_000_000)  # 30 frames at 25 fps
    capture = cv2.VideoCapture(str(liar))
    assert capture.get(cv2.CAP_PROP_FRAME_COUNT) == 10_000_000  # what the header says
    capture.release()
    answer = post(client_for(predictor, uploads, window_seconds=0.4), liar.read_bytes(), "liar.avi").get_json()
    assert answer["duration_s"] == 1.2 and answer["analysed_s"] == 1.2 and answer["truncated"] is False
    assert answer["timeline"][-1]["end_s"] == 1.2 and len(answer["timeline"]) == 3
    assert answer["duration_complete"] is True and answer["header_duration_s"] == 400_000.0  # the claim, labelled as the header's


def test_a_lying_clip_longer_than_the_cap_is_at_least_what_was_counted_never_the_headers_claim(predictor, uploads, tmp_path):
    """Issue 17, point 7, past --max-clip-seconds: counting stops at the cap, so the length is a measured lower bound."""
    liar = claim_frames(write_clip(tmp_path / "liar.avi", seed=5, frames=30), 10_000_000)  # 1.2 s at 25 fps
    answer = post(client_for(predictor, uploads, max_clip_seconds=0.4), liar.read_bytes(), "liar.avi").get_json()
    assert answer["truncated"] is True and answer["analysed_s"] == 0.4
    assert answer["duration_s"] == 0.44 and answer["duration_complete"] is False  # 11 frames counted: at least 0.44 s
    assert answer["header_duration_s"] == 400_000.0  # 10 million frames at 25 fps: only ever the header's figure


def test_an_empty_file_is_400_and_says_so(predictor, uploads):
    response = post(client_for(predictor, uploads), b"", "empty.mp4")
    assert response.status_code == 400
    assert response.get_json() == {"error": "empty.mp4: empty file; choose a video clip"}
    assert list(uploads.iterdir()) == []


def test_a_text_file_named_mp4_is_415(predictor, uploads):
    response = post(client_for(predictor, uploads), b"just some text, not a video\n" * 20, "notes.mp4")
    assert response.status_code == 415
    assert response.get_json()["error"].startswith("notes.mp4: not a video that can be decoded")
    assert list(uploads.iterdir()) == []


def test_a_png_named_mp4_is_415_naming_the_image(predictor, uploads, tmp_path):
    response = post(client_for(predictor, uploads), png_file(tmp_path / "x.png").read_bytes(), "holiday.mp4")
    assert response.status_code == 415
    assert "a still PNG image, not a video" in response.get_json()["error"]
    assert str(uploads) not in response.get_json()["error"]  # server paths are not told
    assert list(uploads.iterdir()) == []


def test_an_upload_over_the_limit_is_413_with_a_readable_message(predictor, clips, uploads):
    client = client_for(predictor, uploads, max_upload_mb=0.001)  # ~1 KB
    response = post(client, clips["long"].read_bytes(), "long.avi")
    assert response.status_code == 413
    assert response.get_json() == {"error": "upload too large: the limit is 0.001 MB (harflow serve --max-upload-mb)"}
    assert not uploads.exists() or list(uploads.iterdir()) == []


@pytest.mark.parametrize(
    "hostile, shown",
    [("../../x.mp4", "x.mp4"), ("/etc/passwd", "passwd"), ("ünïcödé clip 动作.avi", "ünïcödé clip 动作.avi"),
     ("a  name with spaces .avi", "a  name with spaces .avi"), ("..", "upload"), ("bell\x07\t.avi", "bell.avi")],
)
def test_a_hostile_file_name_is_only_echoed_never_used_as_a_path(predictor, clips, uploads, tmp_path, hostile, shown):
    response = post(client_for(predictor, uploads), clips["short"].read_bytes(), hostile)
    assert response.status_code == 200 and response.get_json()["file"] == shown
    assert list(uploads.iterdir()) == [] and sorted(p.name for p in tmp_path.iterdir()) == ["uploads"]


def test_a_request_without_the_clip_field_is_400_naming_the_field(predictor, uploads):
    response = client_for(predictor, uploads).post("/api/predict", data={"video": (io.BytesIO(b"x"), "a.avi")})
    assert response.status_code == 400 and "'clip'" in response.get_json()["error"]


def test_health_names_the_model_and_its_input(predictor, uploads):
    health = client_for(predictor, uploads).get("/healthz").get_json()
    assert health["status"] == "ok" and health["classes"] == 6 and (health["num_frames"], health["image_size"]) == (4, 32)


def test_the_page_has_the_upload_form_and_the_limits(predictor, uploads):
    page = client_for(predictor, uploads, max_upload_mb=20, max_clip_seconds=60).get("/").get_data(as_text=True)
    assert 'type="file"' in page and 'id="drop"' in page
    assert "Up to 20 MB" in page and "first 60 s" in page


def test_the_app_never_runs_in_debug_mode(predictor, uploads):
    app = create_app(predictor, WebConfig(upload_dir=str(uploads)))
    assert app.debug is False


def test_the_upload_folder_is_private(predictor, uploads):
    client_for(predictor, uploads)
    assert uploads.stat().st_mode & 0o077 == 0


def test_display_name_keeps_only_the_last_part_of_any_path():
    assert display_name("/etc/passwd") == "passwd" and display_name("C:\\x\\y.mp4") == "y.mp4"


# --------------------------------------------------------------------------- limits (issue 17, point 5)


def test_a_clip_whose_frames_are_over_the_pixel_limit_is_413_before_decoding(predictor, clips, uploads):
    # the short clip is 40x40 = 1600 pixels per frame
    response = post(client_for(predictor, uploads, max_frame_pixels=1599), clips["short"].read_bytes(), "short.avi")
    assert response.status_code == 413
    assert response.get_json()["error"].startswith("short.avi: frames of 40x40 (0.0 megapixels) are over the limit")
    assert "--max-frame-pixels" in response.get_json()["error"] and list(uploads.iterdir()) == []


def test_a_clip_with_more_pixels_to_decode_than_the_limit_is_413(predictor, clips, uploads):
    content = clips["short"].read_bytes()  # 12 frames of 40x40 = 19,200 pixels
    refused = post(client_for(predictor, uploads, max_clip_pixels=19_199), content, "short.avi")
    allowed = post(client_for(predictor, uploads, max_clip_pixels=19_200), content, "short.avi")
    assert refused.status_code == 413 and "12 frames of 40x40" in refused.get_json()["error"]
    assert "--max-clip-pixels" in refused.get_json()["error"] and allowed.status_code == 200


def test_the_clip_pixel_limit_counts_only_the_analysed_part(predictor, clips, uploads):
    # 150 frames of 40x40 at 25 fps; only the first 2 s (50 frames = 80,000 pixels) are analysed
    response = post(client_for(predictor, uploads, max_clip_seconds=2.0, max_clip_pixels=80_000), clips["long"].read_bytes(), "long.avi")
    assert response.status_code == 200 and response.get_json()["truncated"] is True


class HeldPredictor:
    """The real predictor, whose predict() waits until the test lets it go: it holds analysis slots
    for as long as a test needs (a timing aid; every answer is still the real model's)."""

    def __init__(self, predictor):
        self.inner, self.go, self.entered = predictor, threading.Event(), threading.Semaphore(0)

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def predict(self, clips):
        self.entered.release()
        self.go.wait(timeout=60)
        return self.inner.predict(clips)


def post_in_background(client, content: bytes) -> tuple[threading.Thread, list]:
    answers: list = []
    thread = threading.Thread(target=lambda: answers.append(post(client, content, "a.avi")))
    thread.start()
    return thread, answers


def test_beyond_max_analyses_an_upload_waits_then_gets_503_with_retry_after(predictor, clips, uploads):
    held = HeldPredictor(predictor)
    app = create_app(held, WebConfig(upload_dir=str(uploads), max_analyses=1, threads=3, analysis_wait_s=0.5))
    content = clips["short"].read_bytes()
    first, first_answer = post_in_background(app.test_client(), content)
    assert held.entered.acquire(timeout=60)  # the one slot is taken
    waited, waited_answer = post_in_background(app.test_client(), content)  # the one place in line
    time.sleep(0.1)
    turned_away = post(app.test_client(), content, "b.avi")  # the line is full: at once
    waited.join(timeout=60)
    held.go.set()
    first.join(timeout=60)
    assert turned_away.status_code == 503 and turned_away.headers["Retry-After"] == "1"
    assert "waiting line is full" in turned_away.get_json()["error"]
    assert waited_answer[0].status_code == 503 and "within 0.5 s" in waited_answer[0].get_json()["error"]
    assert first_answer[0].status_code == 200 and list(uploads.iterdir()) == []


def test_limits_that_would_leave_no_thread_for_healthz_are_refused():
    with pytest.raises(ValueError, match="below threads"):
        WebConfig(max_analyses=4, threads=4)
