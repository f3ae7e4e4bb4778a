"""`harflow kubeflow compile` and `submit`: the pipeline as a Kubeflow PipelineSpec, uploaded and started
with kfp.Client (docs/kubeflow.md)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from harflow.cli.options import (
    UsageError,
    add_beam_options,
    add_command,
    add_dataset,
    add_folder_options,
    add_model_building_options,
    add_name,
    add_work_dir,
    config_from,
    field_option,
    pipeline_config,
)
from harflow.config import KubeflowConfig
from harflow.redact import redact


KUBEFLOW = """`compile` builds the same pipeline as `harflow run` with TFX's KubeflowV2DagRunner into a PipelineSpec
file, with runtime parameters data_root, dataset, split and serving_base. `submit --host URL` uploads it to
Kubeflow Pipelines (a new version when the pipeline exists) and starts a run. Step by step, with the container
image: docs/kubeflow.md."""


def add_commands(commands) -> None:
    kubeflow = add_command(commands, "kubeflow", None, "compile the pipeline for Kubeflow Pipelines / Vertex AI; submit it and start a run", description=KUBEFLOW)
    verbs = kubeflow.add_subparsers(dest="command_kubeflow", metavar="VERB", required=True)
    compile_ = add_command(verbs, "compile", cmd_compile, "write the pipeline spec")
    field_option(compile_, KubeflowConfig(), "output", metavar="FILE", help="the spec file")
    add_cluster_options(compile_, required=True)
    submit = add_command(verbs, "submit", cmd_submit, "upload a spec to Kubeflow Pipelines and start a run")
    add_connection_options(submit)
    add_cluster_options(submit, required=False)


def add_cluster_options(parser: argparse.ArgumentParser, required: bool) -> None:
    """The pipeline on the cluster: with required=False (submit), --work-dir and --data only without --spec."""
    kubeflow = KubeflowConfig()
    group = parser.add_argument_group("the pipeline on the cluster (paths: object storage, gs:// s3:// ..., or absolute paths the pods mount)")
    no_default = {"required": required, "default": None, "metavar": "URI"}
    add_work_dir(group, **no_default)
    add_dataset(group, help="dataset root; the default of the runtime parameter data_root", **no_default)
    add_name(group)
    field_option(group, kubeflow, "image", help="the pipeline image every step runs in, as pushed to your registry (kubeflow/Dockerfile)")
    field_option(group, kubeflow, "gpus", help="GPUs requested for the Trainer step")
    field_option(group, kubeflow, "gpu_type", help="the GPU resource: nvidia.com/gpu on Kubeflow; on Vertex AI e.g. NVIDIA_TESLA_T4")
    field_option(group, kubeflow, "trainer_cpus", help="CPU limit of the Trainer step; 0: the cluster's default")
    field_option(group, kubeflow, "trainer_memory_gb", "--trainer-memory", metavar="GB", help="memory limit of the Trainer step in GB; 0: the cluster's default")
    field_option(group, kubeflow, "ingest_beam_args", "--ingest-beam-arg", action="append", default=[], metavar="ARG", help="a Beam option for VideoExampleGen only, e.g. --ingest-beam-arg=--runner=DataflowRunner (repeatable)")
    field_option(group, kubeflow, "pvc_mounts", "--pvc", action="append", default=[], metavar="NAME:/MOUNT/PATH", help="a PersistentVolumeClaim every step mounts at that path (open-source Kubeflow: the clips, a serving base), repeatable")
    add_beam_options(group)
    add_model_building_options(parser)
    add_folder_options(parser)


def add_connection_options(submit: argparse.ArgumentParser) -> None:
    connection = submit.add_argument_group("Kubeflow Pipelines (kfp.Client)")
    where = connection.add_mutually_exclusive_group()
    where.add_argument("--host", help="the Kubeflow Pipelines endpoint, e.g. http://localhost:8080 after `kubectl port-forward -n kubeflow svc/ml-pipeline-ui 8080:80`, or https://HOST/pipeline "
                       "(default: $KF_PIPELINES_ENDPOINT); a user:password@ in it is visible in `ps`: prefer --host-file")
    where.add_argument("--host-file", metavar="FILE", help="read the endpoint URL from FILE (keeps a user:password@ in it out of `ps` and shell history)")
    connection.add_argument("--spec", metavar="FILE", help="a spec from `harflow kubeflow compile` (otherwise compiled now from the options below)")
    connection.add_argument("--experiment", default="harflow", help="the experiment the run goes into, made when missing (default: %(default)s)")
    connection.add_argument("--run-name", help="(default: NAME and the UTC time)")
    connection.add_argument("--param", action="append", metavar="NAME=VALUE", help="a runtime parameter for this run: data_root, dataset, split, serving_base (repeatable)")
    connection.add_argument("--pipeline-root", metavar="URI", help="where this run's artifacts go (default: the spec's, WORK_DIR/pipelines/NAME)")
    connection.add_argument("--service-account", help="the Kubernetes service account the run's pods use")
    auth = submit.add_argument_group("signing in (as kfp.Client supports; none for an open endpoint)")
    auth.add_argument("--namespace", help="multi-user Kubeflow: your profile's namespace")
    auth.add_argument("--token", help="a bearer token (kfp's existing_token); visible to every user in `ps`: prefer --token-file")
    auth.add_argument("--token-file", metavar="FILE", help="read the bearer token from FILE (keeps it out of shell history)")
    auth.add_argument("--cookies", help="a Cookie header, e.g. authservice_session=... (Kubeflow with Dex); visible in `ps`: prefer --cookies-file")
    auth.add_argument("--cookies-file", metavar="FILE", help="read the Cookie header from FILE (keeps it out of `ps` and shell history)")
    auth.add_argument("--client-id", help="OAuth client id of the Identity-Aware Proxy in front of Kubeflow (GCP)")
    auth.add_argument("--sa-token", metavar="PATH", help="a Kubernetes service account token file (inside the cluster: /var/run/secrets/kubeflow/pipelines/token)")
    auth.add_argument("--ssl-ca-cert", metavar="FILE", help="CA bundle of a self-signed HTTPS endpoint")
def cmd_compile(args: argparse.Namespace) -> int:
    """Compile the pipeline (pipeline.pipeline.create_pipeline, as local runs build it) into a Kubeflow
    PipelineSpec (YAML; JSON when --output ends in .json): one Trainer step per variant, then
    ModelComparison, the Evaluator and the Pusher (docs/kubeflow.md)."""
    from harflow.kubeflow.compile import compile_pipeline, summary

    config, kubeflow = kubeflow_configs(args)
    spec = compile_pipeline(config, kubeflow)
    print(summary(spec, kubeflow))
    return 0


def cmd_submit(args: argparse.Namespace) -> int:
    """Upload the pipeline spec (--spec FILE, or compiled now from the same options as `compile`) with
    kfp.Client, as a new pipeline or a new version of the pipeline of that name, and start a run in the
    experiment; prints the run's link."""
    import tempfile

    from harflow.kubeflow.compile import compile_pipeline, read_spec
    from harflow.kubeflow.submit import parse_parameters, submit

    connection = kubeflow_connection(args)
    with tempfile.TemporaryDirectory(prefix="harflow-submit-") as scratch:
        spec_path = args.spec
        if spec_path:
            if not Path(spec_path).is_file():
                raise FileNotFoundError(f"{spec_path}: no such pipeline spec (make one with `harflow kubeflow compile`)")
        else:
            config, kubeflow = kubeflow_configs(args, output=str(Path(scratch) / "pipeline.yaml"))
            compile_pipeline(config, kubeflow)
            spec_path = kubeflow.output
        parameters = parse_parameters(args.param or [], read_spec(spec_path))
        done = submit(
            spec_path,
            connection,
            experiment=args.experiment,
            run_name=args.run_name or "",
            parameters=parameters,
            pipeline_root=args.pipeline_root or "",
            service_account=args.service_account or "",
        )
    print(f"uploaded {spec_path if args.spec else 'the compiled pipeline'} to {redact(connection.host)}: pipeline {done.pipeline_id}, version {done.version_id}")
    print(f"experiment {args.experiment} ({done.experiment_id}); parameters {done.parameters or 'as compiled'}")
    print(f"run {done.run_id} started: {done.run_link}")
    return 0


def kubeflow_configs(args: argparse.Namespace, output: str | None = None):
    """(PipelineConfig, KubeflowConfig) from the kubeflow options; --work-dir and --data are required."""
    if not args.work_dir or not args.dataset_root:
        raise UsageError(
            "give --work-dir (e.g. gs://BUCKET/harflow: pipeline root and serving dir) and --data "
            "(e.g. gs://BUCKET/data/ucf101) to compile the pipeline" + ("" if args.command_kubeflow == "compile" else ", or --spec FILE")
        )
    config = pipeline_config(args, dataset_root=args.dataset_root)
    from harflow.kubeflow.compile import parse_pvc_mount

    pvc_mounts = tuple(parse_pvc_mount(text) for text in args.pvc_mounts)
    kubeflow = config_from(KubeflowConfig, args, ingest_beam_args=tuple(args.ingest_beam_args), pvc_mounts=pvc_mounts, **({"output": output} if output else {}))
    return config, kubeflow


def secret_from(path: str, option: str) -> str:
    """The secret in the file `path` (its first line, stripped); a one-line error naming the file otherwise."""
    file = Path(path)
    if not file.is_file():
        raise UsageError(f"{option} {file}: no such file")
    text = file.read_text().strip()
    if not text:
        raise UsageError(f"{option} {file}: the file is empty")
    return text.splitlines()[0].strip()


def kubeflow_connection(args: argparse.Namespace):
    from harflow.kubeflow.submit import Connection

    token = secret_from(args.token_file, "--token-file") if args.token_file else args.token or ""
    cookies = secret_from(args.cookies_file, "--cookies-file") if args.cookies_file else args.cookies or ""
    host = secret_from(args.host_file, "--host-file") if args.host_file else args.host or os.environ.get("KF_PIPELINES_ENDPOINT", "")
    if not host:
        raise UsageError("give --host URL of Kubeflow Pipelines (or --host-file FILE, or set KF_PIPELINES_ENDPOINT), e.g. --host http://localhost:8080")
    if args.host and redact(args.host) != args.host:
        print("harflow: warning: the credentials in --host are visible to every user in `ps`: "
              "put the URL in a file for --host-file, or in KF_PIPELINES_ENDPOINT", file=sys.stderr)
    return Connection(
        host=host,
        namespace=args.namespace or "",
        token=token,
        cookies=cookies,
        client_id=args.client_id or "",
        sa_token_path=args.sa_token or "",
        ssl_ca_cert=args.ssl_ca_cert or "",
    )

