"""`harflow kubeflow submit`: upload the spec with kfp.Client and start a run.

There is no Kubernetes here, so these tests talk to a stand-in of the Kubeflow
Pipelines REST API (v2beta1) on loopback (tests/kfp_standin.py) that records
the upload and the run request. The client side is kfp's real `kfp.Client`.
"""

import json
import logging
import socket
import subprocess
import sys

import pytest
import yaml

from harflow.config import IngestConfig, KubeflowConfig, PipelineConfig, TrainConfig
from tests.kfp_standin import running_standin


@pytest.fixture(scope="module")
def spec_file(tmp_path_factory):
    """A spec compiled once (seconds), as `harflow kubeflow compile` writes it."""
    from harflow.kubeflow.compile import compile_pipeline

    output = tmp_path_factory.mktemp("kfp") / "pipeline.yaml"
    config = PipelineConfig(
        name="harflow-test",
        work_dir="gs://bucket/harflow",
        serving_dir="/models/harflow-test",
        ingest=IngestConfig(dataset_root="/data/ucf101"),
        train=TrainConfig(epochs=1),
    )
    compile_pipeline(config, KubeflowConfig(output=str(output)))
    return output


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_submit_uploads_the_spec_as_a_pipeline(spec_file):
    from harflow.kubeflow.submit import Connection, submit

    with running_standin() as (url, state):
        submit(str(spec_file), Connection(host=url))
    [upload] = state.uploads()
    assert upload.path == "/apis/v2beta1/pipelines/upload"
    assert upload.query["name"] == ["harflow-test"]
    assert yaml.safe_load(upload.body["file"]) == yaml.safe_load(spec_file.read_text())


def test_submit_starts_a_run_of_the_uploaded_version_with_the_parameters(spec_file):
    from harflow.kubeflow.submit import Connection, submit

    with running_standin() as (url, state):
        done = submit(str(spec_file), Connection(host=url), experiment="ucf101", parameters={"split": 3, "data_root": "/data/hmdb51"})
    [run] = state.run_requests()
    [experiment] = state.experiments.values()
    assert experiment["display_name"] == "ucf101"
    assert run.body["experiment_id"] == experiment["experiment_id"] == done.experiment_id
    assert run.body["pipeline_version_reference"] == {"pipeline_id": done.pipeline_id, "pipeline_version_id": done.version_id}
    assert run.body["runtime_config"]["parameters"] == {"split": 3, "data_root": "/data/hmdb51"}
    assert done.run_link == f"{url}/#/runs/details/{done.run_id}"


def test_a_second_submission_is_a_new_version_of_the_same_pipeline_in_the_same_experiment(spec_file):
    from harflow.kubeflow.submit import Connection, submit

    with running_standin() as (url, state):
        first = submit(str(spec_file), Connection(host=url))
        second = submit(str(spec_file), Connection(host=url))
    assert [upload.path for upload in state.uploads()] == ["/apis/v2beta1/pipelines/upload", "/apis/v2beta1/pipelines/upload_version"]
    assert state.uploads()[1].query["pipelineid"] == [first.pipeline_id]
    assert (second.pipeline_id, second.experiment_id) == (first.pipeline_id, first.experiment_id)
    assert second.version_id != first.version_id
    assert state.run_requests()[1].body["pipeline_version_reference"]["pipeline_version_id"] == second.version_id


def test_a_token_is_sent_as_a_bearer_token(spec_file):
    from harflow.kubeflow.submit import Connection, submit

    with running_standin(token="s3cret") as (url, state):
        submit(str(spec_file), Connection(host=url, token="s3cret"))
    assert {request.headers.get("authorization") for request in state.requests} == {"Bearer s3cret"}


def test_a_refused_sign_in_is_a_one_line_error_that_says_how_to_sign_in(spec_file):
    """With a namespace (multi-user Kubeflow, where sign-in is), kfp.Client skips its health check."""
    from harflow.kubeflow.submit import Connection, KubeflowError, submit

    with running_standin(token="s3cret") as (url, state):
        with pytest.raises(KubeflowError, match=rf"^Kubeflow Pipelines at {url} answered 401 .*\(sign in: --token"):
            submit(str(spec_file), Connection(host=url, namespace="team-a"))
    assert state.run_requests() == []


def test_an_unreachable_host_is_a_one_line_error_naming_it(spec_file):
    from harflow.kubeflow.submit import Connection, KubeflowError, submit

    host = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(KubeflowError, match=rf"^cannot reach Kubeflow Pipelines at {host} \(.*\); check --host") as error:
        submit(str(spec_file), Connection(host=host))
    assert "\n" not in str(error.value)


def test_parameters_are_typed_by_the_spec_and_unknown_names_refused(spec_file):
    from harflow.kubeflow.compile import read_spec
    from harflow.kubeflow.submit import parse_parameters

    spec = read_spec(str(spec_file))
    assert parse_parameters(["split=2", "serving_base=/models/har"], spec) == {"split": 2, "serving_base": "/models/har"}
    with pytest.raises(ValueError, match=r"--param variants: the pipeline has no such parameter; it has data_root, dataset, serving_base, split"):
        parse_parameters(["variants=small+gru"], spec)
    with pytest.raises(ValueError, match=r"--param split=two: not a valid number_integer"):
        parse_parameters(["split=two"], spec)
    with pytest.raises(ValueError, match=r"--param data_root 'gs://b/ucf101' is object storage, but it must be a file system path in the pods"):
        parse_parameters(["data_root=gs://b/ucf101"], spec)


def harflow(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "harflow", *args], capture_output=True, text=True, timeout=300)


def test_the_command_prints_the_run_link(spec_file):
    with running_standin() as (url, state):
        result = harflow("kubeflow", "submit", "--host", url, "--spec", str(spec_file), "--param", "split=2", "--experiment", "nightly")
    assert result.returncode == 0, result.stderr
    [run] = state.runs.values()
    assert result.stdout.strip().splitlines()[-1] == f"run {run['run_id']} started: {url}/#/runs/details/{run['run_id']}"
    assert run["runtime_config"]["parameters"] == {"split": 2}


def test_the_command_with_an_unreachable_host_exits_2_with_one_line(spec_file):
    host = f"http://127.0.0.1:{free_port()}"
    result = harflow("kubeflow", "submit", "--host", host, "--spec", str(spec_file))
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"harflow: error: cannot reach Kubeflow Pipelines at {host} (")



# --------------------------------------------------------------------------- secrets never echoed (issue 17, point 8)


def test_credentials_in_the_host_are_redacted_in_the_error(spec_file):
    from harflow.kubeflow.submit import Connection, KubeflowError, submit

    port = free_port()
    with pytest.raises(KubeflowError) as error:
        submit(str(spec_file), Connection(host=f"http://alice:pa55word@127.0.0.1:{port}"))
    assert "pa55word" not in str(error.value) and "alice" not in str(error.value)
    assert f"cannot reach Kubeflow Pipelines at http://***@127.0.0.1:{port} (" in str(error.value)


def test_credentials_in_the_host_are_redacted_in_the_run_link(spec_file):
    from harflow.kubeflow.submit import Connection, submit

    with running_standin() as (url, state):
        done = submit(str(spec_file), Connection(host=url.replace("http://", "http://alice:pa55word@")))
    assert "pa55word" not in done.run_link and done.run_link.startswith("http://***@127.0.0.1:")


def test_the_command_never_echoes_the_hosts_password(spec_file):
    host = f"http://alice:pa55word@127.0.0.1:{free_port()}"
    result = harflow("kubeflow", "submit", "--host", host, "--spec", str(spec_file))
    assert result.returncode == 2 and "pa55word" not in result.stderr + result.stdout
    assert "http://***@127.0.0.1:" in result.stderr


def test_cookies_and_token_can_come_from_files(spec_file, tmp_path):
    from harflow.cli import build_parser
    from harflow.cli.kubeflow import kubeflow_connection

    (tmp_path / "cookies").write_text("authservice_session=abc123\n")
    (tmp_path / "token").write_text("s3cret\n")
    args = build_parser().parse_args(
        ["kubeflow", "submit", "--host", "http://h:1", "--spec", str(spec_file), "--cookies-file", str(tmp_path / "cookies"), "--token-file", str(tmp_path / "token")]
    )
    connection = kubeflow_connection(args)
    assert (connection.cookies, connection.token) == ("authservice_session=abc123", "s3cret")


def test_a_cookies_file_is_sent_as_the_cookie_header(spec_file, tmp_path):
    (tmp_path / "cookies").write_text("authservice_session=abc123\n")
    with running_standin() as (url, state):
        result = harflow("kubeflow", "submit", "--host", url, "--spec", str(spec_file), "--cookies-file", str(tmp_path / "cookies"))
    assert result.returncode == 0, result.stderr
    assert {request.headers.get("cookie") for request in state.requests} == {"authservice_session=abc123"}


def test_a_missing_cookies_file_is_a_one_line_error(spec_file, tmp_path):
    result = harflow("kubeflow", "submit", "--host", "http://h:1", "--spec", str(spec_file), "--cookies-file", str(tmp_path / "none"))
    assert result.returncode == 2 and result.stderr.strip() == f"harflow: error: --cookies-file {tmp_path / 'none'}: no such file"


def test_the_host_can_come_from_a_file_and_stays_out_of_the_command_line(spec_file, tmp_path):
    with running_standin() as (url, state):
        (tmp_path / "host").write_text(url.replace("http://", "http://alice:pa55word@") + "\n")
        command = ["kubeflow", "submit", "--host-file", str(tmp_path / "host"), "--spec", str(spec_file)]
        result = harflow(*command)
    assert result.returncode == 0, result.stderr
    [run] = state.runs.values()
    assert result.stdout.strip().splitlines()[-1] == f"run {run['run_id']} started: http://***@127.0.0.1:{url.rsplit(':', 1)[1]}/#/runs/details/{run['run_id']}"
    assert "pa55word" not in " ".join(command) + result.stdout + result.stderr and "warning" not in result.stderr


def test_credentials_given_with_host_are_warned_about_and_host_file_excludes_host(spec_file, tmp_path):
    (tmp_path / "host").write_text("http://h:1\n")
    warned = harflow("kubeflow", "submit", "--host", f"http://alice:pa55word@127.0.0.1:{free_port()}", "--spec", str(spec_file))
    both = harflow("kubeflow", "submit", "--host", "http://h:1", "--host-file", str(tmp_path / "host"), "--spec", str(spec_file))
    missing = harflow("kubeflow", "submit", "--host-file", str(tmp_path / "none"), "--spec", str(spec_file))
    assert "harflow: warning: the credentials in --host are visible to every user in `ps`" in warned.stderr and "pa55word" not in warned.stderr
    assert both.returncode == 2 and "not allowed with argument" in both.stderr
    assert missing.returncode == 2 and missing.stderr.strip() == f"harflow: error: --host-file {tmp_path / 'none'}: no such file"


def test_kfps_log_line_of_a_failed_health_check_comes_out_redacted(spec_file, caplog):
    """kfp logs every failed health check with the server's answer (logging.exception on the root logger); here the
    answer quotes a URL with credentials. kfp then waits 5 s and tries again."""
    from harflow.kubeflow.submit import Connection, submit

    quoted = "upstream http://alice:pa55word@ml-pipeline:8888 not ready"
    with running_standin(healthz_error=quoted) as (url, state), caplog.at_level(logging.INFO):
        done = submit(str(spec_file), Connection(host=url))
    [failed] = [record for record in caplog.records if "Failed to get healthz info" in record.getMessage()]
    logged = logging.Formatter().format(failed)
    assert done.run_id and "(503)" in logged and "http://***@ml-pipeline:8888 not ready" in logged and "pa55word" not in logged


def test_redacted_logs_redacts_records_of_kfp_and_urllib3_and_only_within_its_block(caplog):
    from harflow.redact import redacted_logs

    url = "http://alice:pa55word@127.0.0.1:8888/apis"
    logging.getLogger("urllib3.connectionpool")  # a descendant that exists before the block, as once urllib3 is imported
    for name in ("", "urllib3", "kfp_server_api"):  # kfp's Configuration sets the last two to WARNING
        caplog.set_level(logging.DEBUG, logger=name)
    with redacted_logs("kfp_server_api", "urllib3"):
        logging.warning("Failed to get healthz info for %s", url)  # kfp logs on the root logger
        logging.getLogger("urllib3.connectionpool").debug("Retrying %s", url)
        logging.getLogger("kfp_server_api").debug("response body: %s", url.encode())
        try:
            raise ConnectionError(f"cannot reach {url}")
        except ConnectionError:
            logging.exception("attempt 1 of 5")
    inside = "\n".join(logging.Formatter().format(record) for record in caplog.records)
    logging.getLogger("urllib3.connectionpool").warning("after %s", url)
    assert len(caplog.records) == 5 and "pa55word" not in inside and inside.count("http://***@127.0.0.1:8888/apis") == 4
    assert "cannot reach http://***@" in inside and caplog.records[-1].getMessage() == f"after {url}"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("http://alice:pw@host:8080/x", "http://***@host:8080/x"),
        ("see https://tok@h/p and grpc://a:b@c", "see https://***@h/p and grpc://***@c"),
        ("http://host:8080/x?u=a@b", "http://host:8080/x?u=a@b"),
    ],
)
def test_redact_replaces_the_user_info_of_every_url(text, expected):
    from harflow.redact import redact

    assert redact(text) == expected


def test_submit_uploads_the_volumes_platform_config_with_the_spec(tmp_path):
    """`compile --pvc` writes a second YAML document (kfp's PlatformSpec); the upload carries both."""
    from harflow.kubeflow.compile import compile_pipeline
    from harflow.kubeflow.submit import Connection, submit

    output = tmp_path / "pipeline.yaml"
    config = PipelineConfig(name="harflow-pvc", work_dir="/data/work", serving_dir="/models/harflow", ingest=IngestConfig(dataset_root="/data/ucf101"))
    compile_pipeline(config, KubeflowConfig(output=str(output), pvc_mounts=(("harflow-data", "/data"),)))
    with running_standin() as (url, state):
        submit(str(output), Connection(host=url))
    [upload] = state.uploads()
    pipeline, platform = yaml.safe_load_all(upload.body["file"])
    assert pipeline["pipelineInfo"] == {"name": "harflow-pvc"}
    assert set(platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"]) == {
        label for label, body in pipeline["deploymentSpec"]["executors"].items() if "container" in body
    }
