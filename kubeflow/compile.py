"""Compile harflow's pipeline for Kubeflow Pipelines (and Vertex AI Pipelines) with TFX's KubeflowV2DagRunner.

    PipelineConfig ──> pipeline.pipeline.create_pipeline   the one definition, as in local runs
                   ──> each Trainer's GPU / CPU / memory request, VideoExampleGen's Beam options
                   ──> KubeflowV2DagRunner                  a PipelineJob
                   ──> its PipelineSpec, as YAML            what `kfp.Client` uploads (kubeflow/submit.py)
                   (+ a PlatformSpec, the second YAML document, mounting the --pvc volumes in every step)

Every step runs in one image (kubeflow/Dockerfile: TFX's image plus this project),
which runs the component's executor class with TFX's Kubeflow V2 entry point.

Runtime parameters (chosen per run, in the Kubeflow UI or with `harflow kubeflow submit --param`):
data_root, dataset, split and serving_base. The variants are fixed at compile time: each one is a
Trainer step of its own, so the list shapes the graph, which a run cannot change.
"""

from __future__ import annotations

import json
import os
import tempfile

from harflow.config import KubeflowConfig, PipelineConfig, is_uri

# the spec's parameter -> (the setting create_pipeline replaces with it, its type)
RUNTIME_PARAMETERS = {
    "data_root": ("dataset_root", str),
    "dataset": ("dataset", str),
    "split": ("split", int),
    "serving_base": ("serving_base", str),
}


def cluster_config(config: PipelineConfig) -> PipelineConfig:
    """The config, checked for paths the cluster's pods can use; a clear error otherwise.

    The work dir (the pipeline root) may be object storage: TFX writes artifacts
    through tf.io.gfile. The data root and the serving base must be file system
    paths in the pods (a mounted bucket or volume): OpenCV reads clips from files,
    and the Pusher publishes a version by renaming a folder. A relative path names
    nothing in a pod, so it is an error rather than made absolute here.
    """
    if not (is_uri(config.work_dir) or os.path.isabs(config.work_dir)):
        raise ValueError(
            f"--work-dir {config.work_dir!r} is a relative path, which means nothing in a Kubeflow pod; give object "
            "storage (gs://BUCKET/...) or an absolute path mounted in the pods"
        )
    check_pod_path("--data", config.ingest.dataset_root)
    check_pod_path("--serving-dir" if config.serving_dir else "the serving base (WORK_DIR/serving/NAME; set --serving-dir)", config.serving_base)
    return config


def check_pod_path(label: str, path: str) -> None:
    """The data root and the serving base: absolute file system paths in the pods, not URIs."""
    if is_uri(path):
        raise ValueError(
            f"{label} {path!r} is object storage, but it must be a file system path in the pods (OpenCV reads clips "
            "from files; the Pusher publishes versions by renaming folders): mount the bucket or a volume and give "
            "its path, e.g. /gcs/BUCKET/... on Vertex AI (docs/kubeflow.md)"
        )
    if not os.path.isabs(path):
        raise ValueError(f"{label} {path!r} is a relative path, which means nothing in a Kubeflow pod; give an absolute path mounted in the pods")


def parameter_defaults(config: PipelineConfig) -> dict:
    """The runtime parameters' defaults: the compiled config's values."""
    return {
        "data_root": config.ingest.dataset_root,
        "dataset": config.ingest.dataset,
        "split": config.ingest.split,
        "serving_base": config.serving_base,
    }


def runtime_parameters(config: PipelineConfig) -> dict:
    """TFX RuntimeParameters keyed as create_pipeline takes them, with the config's values as defaults."""
    from tfx.v1.dsl.experimental import RuntimeParameter

    defaults = parameter_defaults(config)
    return {
        setting: RuntimeParameter(name=name, ptype=ptype, default=defaults[name])
        for name, (setting, ptype) in RUNTIME_PARAMETERS.items()
    }


def trainer_resources(kubeflow: KubeflowConfig):
    """The Trainer steps' resource request (GPUs, CPUs, memory), or None when nothing is asked."""
    from kfp.pipeline_spec import pipeline_spec_pb2

    if not (kubeflow.gpus or kubeflow.trainer_cpus or kubeflow.trainer_memory_gb):
        return None
    resources = pipeline_spec_pb2.PipelineDeploymentConfig.PipelineContainerSpec.ResourceSpec()
    if kubeflow.trainer_cpus:
        resources.cpu_limit = kubeflow.trainer_cpus
        resources.resource_cpu_limit = f"{kubeflow.trainer_cpus:g}"
    if kubeflow.trainer_memory_gb:
        resources.memory_limit = kubeflow.trainer_memory_gb
        resources.resource_memory_limit = f"{kubeflow.trainer_memory_gb:g}G"
    if kubeflow.gpus:
        # type/count: Vertex AI and older KFP backends; resource_type/resource_count: KFP 2.x
        resources.accelerator.type = kubeflow.gpu_type
        resources.accelerator.count = kubeflow.gpus
        resources.accelerator.resource_type = kubeflow.gpu_type
        resources.accelerator.resource_count = str(kubeflow.gpus)
    return resources


def build_pipeline(config: PipelineConfig, kubeflow: KubeflowConfig):
    """create_pipeline(config) with runtime parameters, the Trainers' resources and ingestion's Beam options."""
    from harflow.pipeline.pipeline import TRAINER_ID_PREFIX, create_pipeline

    config = cluster_config(config)
    pipeline = create_pipeline(config, runtime_parameters=runtime_parameters(config))
    resources = trainer_resources(kubeflow)
    for component in pipeline.components:
        if component.id.startswith(TRAINER_ID_PREFIX) and resources is not None:
            component.with_platform_config(resources)
        if component.id == "VideoExampleGen" and kubeflow.ingest_beam_args:
            component.with_beam_pipeline_args(list(kubeflow.ingest_beam_args))  # after the pipeline's: these win
    return pipeline


def compile_pipeline(config: PipelineConfig, kubeflow: KubeflowConfig) -> dict:
    """Compile the pipeline into kubeflow.output (a PipelineSpec, YAML or JSON by suffix); returns the spec."""
    pipeline = build_pipeline(config, kubeflow)
    from tfx.orchestration.kubeflow.v2 import kubeflow_v2_dag_runner

    # schema 2.1 (typed parameters), what kfp 2's compiler writes and Kubeflow Pipelines 2 and Vertex AI run
    runner_config = kubeflow_v2_dag_runner.KubeflowV2DagRunnerConfig(default_image=kubeflow.image, use_pipeline_spec_2_1=True)
    with tempfile.TemporaryDirectory(prefix="harflow-kfp-") as scratch:
        runner = kubeflow_v2_dag_runner.KubeflowV2DagRunner(
            config=runner_config, output_dir=scratch, output_filename="pipeline_job.json"
        )
        job = runner.run(pipeline, write_out=False)  # a PipelineJob: the spec plus Vertex AI's run settings
    spec = job["pipelineSpec"]
    spec["defaultPipelineRoot"] = config.pipeline_root  # KFP writes artifacts here unless a run says otherwise
    # TFX leaves the defaults to the PipelineJob's runtimeConfig (Vertex AI); a spec carries them itself
    parameters = spec["root"]["inputDefinitions"]["parameters"]
    for name, value in parameter_defaults(cluster_config(config)).items():
        parameters[name].update(defaultValue=value, isOptional=True)
    write_spec(spec, kubeflow.output, platform_spec(spec, kubeflow))
    return spec


def parse_pvc_mount(text: str) -> tuple[str, str]:
    """`--pvc NAME:/mount/path` -> ("NAME", "/mount/path"); checked by KubeflowConfig."""
    name, colon, path = text.partition(":")
    if not colon:
        raise ValueError(f"--pvc {text!r} is not NAME:/MOUNT/PATH, e.g. --pvc harflow-data:/data")
    return name, path


def platform_spec(spec: dict, kubeflow: KubeflowConfig) -> dict | None:
    """The Kubernetes platform config that mounts every --pvc claim in every step; None without claims.

    TFX's KubeflowV2DagRunner writes no platform config, so it is added here, in the format
    kfp-kubernetes' `mount_pvc` gives a task (a KubernetesExecutorConfig per executor label, under
    platforms.kubernetes.deploymentSpec.executors) and kfp's compiler writes after the PipelineSpec.
    Only container executors run in a pod; the resolver steps have none to mount into.
    """
    if not kubeflow.pvc_mounts:
        return None
    from google.protobuf import json_format
    from kfp.kubernetes import kubernetes_executor_config_pb2 as kubernetes
    from kfp.pipeline_spec import pipeline_spec_pb2

    config = kubernetes.KubernetesExecutorConfig()
    for name, path in kubeflow.pvc_mounts:
        mount = config.pvc_mount.add(mount_path=path, constant=name)  # `constant`: deprecated, what older backends read
        mount.pvc_name_parameter.runtime_value.constant.string_value = name
    executors = {
        label: json_format.MessageToDict(config)
        for label, executor in spec["deploymentSpec"]["executors"].items()
        if "container" in executor
    }
    platforms = {"platforms": {"kubernetes": {"deploymentSpec": {"executors": executors}}}}
    return json_format.MessageToDict(json_format.ParseDict(platforms, pipeline_spec_pb2.PlatformSpec()))


def write_spec(spec: dict, path: str, platform: dict | None = None) -> None:
    """The spec as JSON (a .json path) or YAML (anything else), the two forms kfp.Client uploads.

    A platform config follows the spec as the YAML file's second document, as kfp's compiler writes it.
    """
    import yaml

    if platform and path.endswith(".json"):
        raise ValueError(f"{path}: a JSON spec cannot carry the Kubernetes platform config (--pvc); write YAML")
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    with open(path, "w") as handle:
        if path.endswith(".json"):
            json.dump(spec, handle, indent=1, sort_keys=True)
        else:
            yaml.safe_dump_all([spec, platform] if platform else [spec], handle, sort_keys=True)


def read_spec(path: str):
    """A spec file -> kfp's PipelineSpec proto; a clear error when the file is not one."""
    import yaml
    from google.protobuf import json_format
    from kfp.pipeline_spec import pipeline_spec_pb2

    with open(path) as handle:
        try:
            documents = list(yaml.safe_load_all(handle))
        except yaml.YAMLError as error:
            raise ValueError(f"{path}: not YAML or JSON ({error}); compile one with `harflow kubeflow compile`") from None
    data, platform = (documents + [None, None])[:2]  # the PipelineSpec, then (kfp's layout) an optional PlatformSpec
    if isinstance(data, dict) and "pipelineSpec" in data:  # a PipelineJob, as TFX's runner writes it
        data = data["pipelineSpec"]
    try:
        if len(documents) > 2:
            raise json_format.ParseError(f"{len(documents)} YAML documents, where a spec has one or two")
        if platform is not None:
            json_format.ParseDict(platform, pipeline_spec_pb2.PlatformSpec())
        return json_format.ParseDict(data, pipeline_spec_pb2.PipelineSpec())
    except (json_format.ParseError, TypeError, AttributeError) as error:
        raise ValueError(f"{path}: not a Kubeflow PipelineSpec ({error}); compile one with `harflow kubeflow compile`") from None


def summary(spec: dict, kubeflow: KubeflowConfig) -> str:
    """A few lines: where the spec went, its steps, its parameters with defaults, the image."""
    tasks = spec["root"]["dag"]["tasks"]
    parameters = spec["root"].get("inputDefinitions", {}).get("parameters", {})
    lines = [f"pipeline spec: {kubeflow.output} ({len(tasks)} steps, image {kubeflow.image})"]
    lines.append("steps: " + ", ".join(sorted(tasks)))
    for name, definition in sorted(parameters.items()):
        lines.append(f"runtime parameter {name} (default {definition.get('defaultValue')!r})")
    for name, path in kubeflow.pvc_mounts:
        lines.append(f"volume: claim {name} mounted at {path} in every step")
    return "\n".join(lines)

