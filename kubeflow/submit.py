"""Submit a compiled pipeline spec to Kubeflow Pipelines with `kfp.Client` and start a run.

    spec file ──> upload: a new pipeline, or a new version of the pipeline of that name
              ──> the experiment (made when missing)
              ──> a run of that version, with the runtime parameters ──> the run's link

Everything goes through kfp's own client (the Kubeflow Pipelines v2beta1 REST API);
authentication is what kfp.Client supports: a bearer token, cookies, an IAP client
id, or a Kubernetes service account token file.
"""

from __future__ import annotations

import contextlib
import io
import time
import warnings
from dataclasses import dataclass, field

from harflow.redact import redact, redacted_logs

KFP_LOGGERS = ("kfp", "kfp_server_api", "urllib3", "google.auth")  # and the root logger, which kfp's own messages use


class KubeflowError(ValueError):
    """Kubeflow Pipelines could not be reached or refused a request; one line, shown by the CLI."""


@dataclass(frozen=True)
class Connection:
    """Where Kubeflow Pipelines is and how harflow signs in (kfp.Client's options)."""

    host: str  # e.g. http://localhost:8080 (kubectl port-forward) or https://HOST/pipeline
    namespace: str = ""  # multi-user deployments: the profile namespace; empty: kfp's default
    token: str = ""  # a bearer token (kfp.Client's existing_token)
    cookies: str = ""  # a Cookie header value, e.g. authservice_session=... (Kubeflow's Dex login)
    client_id: str = ""  # OAuth client id of an Identity-Aware Proxy in front of Kubeflow (GKE)
    sa_token_path: str = ""  # a Kubernetes service account token file (kfp's ServiceAccountTokenVolumeCredentials)
    ssl_ca_cert: str = ""  # a CA bundle for a self-signed HTTPS endpoint


@dataclass(frozen=True)
class Submission:
    """What was uploaded and started."""

    pipeline_id: str
    version_id: str
    experiment_id: str
    run_id: str
    run_link: str
    parameters: dict = field(default_factory=dict)


def client(connection: Connection):
    """A kfp.Client for `connection`."""
    import kfp

    credentials = None
    if connection.sa_token_path:
        from kfp.client import ServiceAccountTokenVolumeCredentials

        credentials = ServiceAccountTokenVolumeCredentials(path=connection.sa_token_path)
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # "only works with Kubeflow Pipeline v2.0.0-beta.2 and later"
        return kfp.Client(
            host=connection.host,
            namespace=connection.namespace or "kubeflow",
            existing_token=connection.token or None,
            cookies=connection.cookies or None,
            client_id=connection.client_id or None,
            credentials=credentials,
            ssl_ca_cert=connection.ssl_ca_cert or None,
        )


def parse_parameters(assignments: list[str], spec) -> dict:
    """["split=2", "data_root=gs://b/ucf101"] -> {"split": 2, ...}, typed and checked against the spec's parameters."""
    declared = spec.root.input_definitions.parameters
    values = {}
    for assignment in assignments:
        name, equals, text = assignment.partition("=")
        if not equals:
            raise ValueError(f"--param {assignment!r} is not NAME=VALUE")
        if name not in declared:
            raise ValueError(f"--param {name}: the pipeline has no such parameter; it has {', '.join(sorted(declared))}")
        kind = declared[name].parameter_type
        try:
            values[name] = _typed(text, kind)
        except ValueError:
            raise ValueError(f"--param {name}={text}: not a valid {_type_name(kind)}") from None
        if name in ("data_root", "serving_base"):
            from harflow.kubeflow.compile import check_pod_path, check_serving_base

            (check_pod_path if name == "data_root" else check_serving_base)(f"--param {name}", text)
    return values


def _typed(text: str, kind: int):
    from kfp.pipeline_spec import pipeline_spec_pb2

    types = pipeline_spec_pb2.ParameterType
    if kind == types.NUMBER_INTEGER:
        return int(text)
    if kind == types.NUMBER_DOUBLE:
        return float(text)
    if kind == types.BOOLEAN:
        if text.lower() not in ("true", "false"):
            raise ValueError(text)
        return text.lower() == "true"
    return text


def _type_name(kind: int) -> str:
    from kfp.pipeline_spec import pipeline_spec_pb2

    return pipeline_spec_pb2.ParameterType.ParameterTypeEnum.Name(kind).lower()


def submit(
    spec_path: str,
    connection: Connection,
    experiment: str = "harflow",
    run_name: str = "",
    parameters: dict | None = None,
    pipeline_root: str = "",
    service_account: str = "",
) -> Submission:
    """Upload `spec_path` (a new version when the pipeline exists) and start a run in `experiment`.

    Meanwhile the log lines of kfp (which logs on the root logger), its REST client, urllib3 and google-auth
    have any `user:password@` in a URL redacted.
    """
    import kfp  # noqa: F401  (its loggers, and those of the libraries it imports, exist before redacted_logs looks for them)

    from harflow.kubeflow.compile import read_spec

    spec = read_spec(spec_path)
    name = spec.pipeline_info.name
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    namespace = connection.namespace or None
    with redacted_logs(*KFP_LOGGERS), _talking_to(redact(connection.host)), contextlib.redirect_stdout(io.StringIO()):  # kfp prints its own links
        kfp_client = client(connection)
        pipeline_id = kfp_client.get_pipeline_id(name)
        if pipeline_id is None:
            pipeline_id = kfp_client.upload_pipeline(spec_path, pipeline_name=name, namespace=namespace).pipeline_id
            versions = kfp_client.list_pipeline_versions(pipeline_id, page_size=1, sort_by="created_at desc")
            version_id = versions.pipeline_versions[0].pipeline_version_id
        else:
            version = kfp_client.upload_pipeline_version(spec_path, f"{name}-{stamp}", pipeline_id=pipeline_id)
            version_id = version.pipeline_version_id
        experiment_id = kfp_client.create_experiment(experiment, namespace=namespace).experiment_id
        run = kfp_client.run_pipeline(
            experiment_id,
            run_name or f"{name} {stamp}",
            params=dict(parameters or {}),
            pipeline_id=pipeline_id,
            version_id=version_id,
            pipeline_root=pipeline_root or None,
            service_account=service_account or None,
        )
    return Submission(
        pipeline_id=pipeline_id,
        version_id=version_id,
        experiment_id=experiment_id,
        run_id=run.run_id,
        run_link=redact(run_link(connection.host, run.run_id)),
        parameters=dict(parameters or {}),
    )


def run_link(host: str, run_id: str) -> str:
    """The run's page in the Kubeflow Pipelines UI (served beside the API)."""
    base = host if host.startswith(("http://", "https://")) else "http://" + host
    return f"{base.rstrip('/')}/#/runs/details/{run_id}"


@contextlib.contextmanager
def _talking_to(host: str):
    """Network failures and refusals as one KubeflowError line that names the host (its credentials redacted)."""
    import kfp_server_api
    import urllib3

    try:
        yield
    except TimeoutError:  # kfp.Client's health check (made without --namespace) failed 5 times, 5 s apart
        raise KubeflowError(
            f"Kubeflow Pipelines at {host} did not answer its health check (5 tries; kfp logged each answer above); "
            "check --host and signing in (--token, --cookies, --client-id, --sa-token)"
        ) from None
    except (urllib3.exceptions.HTTPError, OSError) as error:
        reason = getattr(error, "reason", None) or error
        raise KubeflowError(
            f"cannot reach Kubeflow Pipelines at {host} ({redact(_first_line(reason))}); check --host "
            "(e.g. `kubectl port-forward -n kubeflow svc/ml-pipeline-ui 8080:80`, then --host http://localhost:8080)"
        ) from None
    except kfp_server_api.ApiException as error:
        hint = " (sign in: --token, --cookies, --client-id or --sa-token)" if error.status in (401, 403) else ""
        raise KubeflowError(
            f"Kubeflow Pipelines at {host} answered {error.status} {error.reason}: {redact(_first_line(error.body or ''))}{hint}"
        ) from None


def _first_line(value) -> str:
    text = str(value).strip()
    return text.splitlines()[0][:300] if text else ""
