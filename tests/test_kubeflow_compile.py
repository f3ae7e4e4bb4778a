"""`harflow kubeflow compile`: the local pipeline, compiled by TFX's KubeflowV2DagRunner into a Kubeflow PipelineSpec.

Real TFX and kfp's PipelineSpec proto; compiling takes seconds and runs nothing.
"""

import json
import subprocess
import sys

import pytest
import yaml
from google.protobuf import json_format
from kfp.pipeline_spec import pipeline_spec_pb2

from harflow.config import GateConfig, IngestConfig, KubeflowConfig, PipelineConfig, TrainConfig

IMAGE = "registry.example.com/team/harflow:0.1.0"


def cluster_config(**changes) -> PipelineConfig:
    return PipelineConfig(
        name="harflow-test",
        work_dir="gs://bucket/harflow",
        serving_dir="/models/harflow-test",
        ingest=IngestConfig(dataset_root="/data/ucf101", dataset="ucf101", split=2),
        train=TrainConfig(epochs=2),
        gate=GateConfig(min_accuracy=0.5),
        **changes,
    )


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    """The pipeline of two variants compiled once, with GPUs for the Trainers and a Beam option for ingestion."""
    from harflow.kubeflow.compile import compile_pipeline

    output = tmp_path_factory.mktemp("kfp") / "pipeline.yaml"
    config = cluster_config().with_train(TrainConfig(epochs=2, variants=("small+gru", "small+lstm")))
    kubeflow = KubeflowConfig(image=IMAGE, output=str(output), gpus=2, ingest_beam_args=("--runner=DataflowRunner",))
    compile_pipeline(config, kubeflow)
    return config, output


def spec_of(output) -> dict:
    return yaml.safe_load(output.read_text())


def node_of(task: str) -> str:
    """A spec task -> the TFX node it came from (the Resolver becomes two tasks, `<id>-model-resolver` and ...)."""
    return task.split("-model-")[0]


def local_components(config: PipelineConfig) -> list:
    from harflow.pipeline.pipeline import create_pipeline

    return create_pipeline(config).components


def test_the_spec_file_parses_as_a_kfp_pipeline_spec(compiled):
    _, output = compiled
    spec = json_format.ParseDict(spec_of(output), pipeline_spec_pb2.PipelineSpec())  # strict: unknown fields fail
    assert spec.pipeline_info.name == "harflow-test"
    assert spec.schema_version == "2.1.0"
    assert spec.default_pipeline_root == "gs://bucket/harflow/pipelines/harflow-test"


def test_the_spec_has_every_component_of_the_local_pipeline(compiled):
    config, output = compiled
    tasks = spec_of(output)["root"]["dag"]["tasks"]
    local_ids = [component.id for component in local_components(config)]
    assert sorted(local_ids) == sorted(["VideoExampleGen", "trainer_small_gru", "trainer_small_lstm", "model_comparison", "latest_blessed_model", "Evaluator", "Pusher"])
    assert sorted({node_of(task) for task in tasks}) == sorted(local_ids)


def test_the_spec_orders_the_steps_as_the_local_pipeline(compiled):
    """Each step waits for exactly the steps that feed it in the local pipeline, which runs them first."""
    config, output = compiled
    tasks = spec_of(output)["root"]["dag"]["tasks"]
    components = local_components(config)
    order = [component.id for component in components]
    for task, body in tasks.items():
        waits_for = {node_of(dependency) for dependency in body.get("dependentTasks", [])}
        assert all(order.index(node) < order.index(node_of(task)) for node in waits_for), task
    for component in components:
        upstream = {node.id for node in component.upstream_nodes}
        waits_for = {
            node_of(dependency)
            for task, body in tasks.items()
            if node_of(task) == component.id
            for dependency in body.get("dependentTasks", [])
        }
        assert waits_for == upstream, component.id


def test_every_step_runs_in_the_image_with_the_local_executor_class(compiled):
    from tfx.dsl.components.common.resolver import Resolver

    config, output = compiled
    executors = spec_of(output)["deploymentSpec"]["executors"]
    containers = {label.removesuffix("_executor"): body["container"] for label, body in executors.items() if "container" in body}
    expected = {
        component.id: f"{component.executor_spec.executor_class.__module__}.{component.executor_spec.executor_class.__name__}"
        for component in local_components(config)
        if not isinstance(component, Resolver)  # no container: Kubeflow resolves it from its MLMD
    }
    assert set(containers) == set(expected)
    for node, container in containers.items():
        assert container["image"] == IMAGE
        assert container["args"][container["args"].index("--executor_class_path") + 1] == expected[node]


def test_the_runtime_parameters_have_the_configs_values_as_defaults(compiled):
    _, output = compiled
    parameters = spec_of(output)["root"]["inputDefinitions"]["parameters"]
    assert parameters == {
        "data_root": {"parameterType": "STRING", "defaultValue": "/data/ucf101", "isOptional": True},
        "dataset": {"parameterType": "STRING", "defaultValue": "ucf101", "isOptional": True},
        "split": {"parameterType": "NUMBER_INTEGER", "defaultValue": 2, "isOptional": True},
        "serving_base": {"parameterType": "STRING", "defaultValue": "/models/harflow-test", "isOptional": True},
    }


def test_the_runtime_parameters_reach_ingestion_and_the_pusher(compiled):
    _, output = compiled
    tasks = spec_of(output)["root"]["dag"]["tasks"]
    ingest = tasks["VideoExampleGen"]["inputs"]["parameters"]
    assert {name: ingest[name].get("componentInputParameter") for name in ("dataset_root", "dataset", "split")} == {
        "dataset_root": "data_root",
        "dataset": "dataset",
        "split": "split",
    }
    assert tasks["Pusher"]["inputs"]["parameters"]["serving_base"] == {"componentInputParameter": "serving_base"}


def test_only_the_trainers_request_gpus(compiled):
    _, output = compiled
    executors = spec_of(output)["deploymentSpec"]["executors"]
    requests = {label: body["container"].get("resources") for label, body in executors.items() if "container" in body}
    for trainer in ("trainer_small_gru_executor", "trainer_small_lstm_executor"):
        assert requests.pop(trainer)["accelerator"] == {
            "type": "nvidia.com/gpu",
            "count": "2",
            "resourceType": "nvidia.com/gpu",
            "resourceCount": "2",
        }
    assert set(requests.values()) == {None}


def test_ingestion_beam_options_go_to_video_example_gen_only(compiled):
    _, output = compiled
    executors = spec_of(output)["deploymentSpec"]["executors"]
    with_option = [label for label, body in executors.items() if "--runner=DataflowRunner" in body.get("container", {}).get("args", [])]
    assert with_option == ["VideoExampleGen_executor"]


def test_each_trainers_model_reaches_model_comparison_on_an_input_of_its_own(compiled):
    """KubeflowV2DagRunner compiles no union of channels, so every Trainer's model has its own input key."""
    _, output = compiled
    artifacts = spec_of(output)["root"]["dag"]["tasks"]["model_comparison"]["inputs"]["artifacts"]
    producers = {key: body["taskOutputArtifact"]["producerTask"] for key, body in artifacts.items() if key.startswith("model_")}
    assert producers == {"model_0": "trainer_small_gru", "model_1": "trainer_small_lstm"}


def test_a_relative_data_root_is_refused_naming_it(tmp_path):
    from harflow.kubeflow.compile import compile_pipeline

    config = PipelineConfig(work_dir="gs://bucket/harflow", serving_dir="/models/h", ingest=IngestConfig(dataset_root="data/ucf101"))
    with pytest.raises(ValueError, match=r"^--data 'data/ucf101' is a relative path, which means nothing in a Kubeflow pod"):
        compile_pipeline(config, KubeflowConfig(output=str(tmp_path / "p.yaml")))


def test_an_object_storage_serving_base_is_refused_with_the_mount_hint(tmp_path):
    """The default serving base under a gs:// work dir is a URI: the Pusher needs a file system (renames)."""
    from harflow.kubeflow.compile import compile_pipeline

    config = PipelineConfig(work_dir="gs://bucket/harflow", ingest=IngestConfig(dataset_root="/data/ucf101"))
    with pytest.raises(ValueError, match=r"'gs://bucket/harflow/serving/harflow' is object storage, but it must be a file system path in the pods .* /gcs/BUCKET/"):
        compile_pipeline(config, KubeflowConfig(output=str(tmp_path / "p.yaml")))


def test_a_json_output_is_the_same_spec_as_json(tmp_path):
    from harflow.kubeflow.compile import compile_pipeline, read_spec

    output = tmp_path / "pipeline.json"
    compile_pipeline(cluster_config(), KubeflowConfig(output=str(output)))
    assert json.loads(output.read_text())["pipelineInfo"] == {"name": "harflow-test"}
    assert read_spec(str(output)).root.dag.tasks["Pusher"].component_ref.name == "Pusher"


def test_a_file_that_is_not_a_spec_is_a_clear_error(tmp_path):
    from harflow.kubeflow.compile import read_spec

    path = tmp_path / "notes.yaml"
    path.write_text("steps: [a, b]\n")
    with pytest.raises(ValueError, match=rf"{path}: not a Kubeflow PipelineSpec"):
        read_spec(str(path))


def harflow(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "harflow", *args], capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("verb", ["compile", "submit"])
def test_the_kubeflow_commands_explain_themselves(verb, capsys):
    from harflow.cli import build_parser

    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(["kubeflow", verb, "--help"])
    assert exit_info.value.code == 0
    assert f"usage: harflow kubeflow {verb}" in capsys.readouterr().out


def test_the_command_writes_the_spec_and_lists_steps_and_parameters(tmp_path):
    output = tmp_path / "harflow.yaml"
    result = harflow(
        "kubeflow", "compile", "--work-dir", "gs://bucket/harflow", "--data", "/data/hmdb51", "--serving-dir", "/models/harflow",
        "--dataset", "hmdb51", "--image", IMAGE, "--output", str(output), "--gpus", "1",
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[0] == f"pipeline spec: {output} (7 steps, image {IMAGE})"
    assert "runtime parameter data_root (default '/data/hmdb51')" in lines
    assert spec_of(output)["root"]["inputDefinitions"]["parameters"]["dataset"]["defaultValue"] == "hmdb51"


def test_the_command_with_a_relative_work_dir_exits_2_with_one_line(tmp_path):
    result = harflow("kubeflow", "compile", "--work-dir", "harflow-work", "--data", "/data/d", "--output", str(tmp_path / "p.yaml"))
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("harflow: error: --work-dir 'harflow-work' is a relative path, which means nothing in a Kubeflow pod")


VOLUMES = (("harflow-data", "/data"), ("harflow-models", "/models"))


@pytest.fixture(scope="module")
def compiled_with_volumes(tmp_path_factory):
    """The pipeline compiled with two PVCs (`--pvc harflow-data:/data --pvc harflow-models:/models`)."""
    from harflow.kubeflow.compile import compile_pipeline

    output = tmp_path_factory.mktemp("kfp-pvc") / "pipeline.yaml"
    compile_pipeline(cluster_config(), KubeflowConfig(image=IMAGE, output=str(output), pvc_mounts=VOLUMES))
    return output


def test_every_step_mounts_each_pvc_in_the_kubernetes_platform_config(compiled_with_volumes):
    """kfp's layout: the PipelineSpec, then a PlatformSpec whose kubernetes executors carry kfp-kubernetes' PvcMount."""
    from kfp.kubernetes import kubernetes_executor_config_pb2

    pipeline, platform = yaml.safe_load_all(compiled_with_volumes.read_text())
    json_format.ParseDict(pipeline, pipeline_spec_pb2.PipelineSpec())  # strict: the first document is still the spec
    platform = json_format.ParseDict(platform, pipeline_spec_pb2.PlatformSpec())
    assert list(platform.platforms) == ["kubernetes"]
    executors = platform.platforms["kubernetes"].deployment_spec.executors
    steps = {label for label, body in pipeline["deploymentSpec"]["executors"].items() if "container" in body}
    assert set(executors) == steps and len(steps) == 5  # VideoExampleGen, the Trainer, ModelComparison, Evaluator, Pusher
    for label in steps:
        config = json_format.ParseDict(json_format.MessageToDict(executors[label]), kubernetes_executor_config_pb2.KubernetesExecutorConfig())
        mounts = [(m.pvc_name_parameter.runtime_value.constant.string_value, m.mount_path, m.constant) for m in config.pvc_mount]
        assert mounts == [("harflow-data", "/data", "harflow-data"), ("harflow-models", "/models", "harflow-models")], label


def test_a_spec_with_volumes_reads_back_as_its_pipeline_spec(compiled_with_volumes):
    from harflow.kubeflow.compile import read_spec

    assert read_spec(str(compiled_with_volumes)).pipeline_info.name == "harflow-test"


def test_without_volumes_the_spec_is_one_document(compiled):
    _, output = compiled
    assert len(list(yaml.safe_load_all(output.read_text()))) == 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("harflow-data", r"--pvc 'harflow-data' is not NAME:/MOUNT/PATH"),
        ("Harflow_Data:/data", r"'Harflow_Data' is not a PersistentVolumeClaim name"),
        ("harflow-data:data", r"the mount path must be absolute, e.g. --pvc harflow-data:/data"),
    ],
)
def test_a_malformed_pvc_is_a_clear_error(text, message):
    from harflow.kubeflow.compile import parse_pvc_mount

    with pytest.raises(ValueError, match=message):
        KubeflowConfig(pvc_mounts=(parse_pvc_mount(text),))


def test_two_claims_on_one_path_and_a_json_spec_with_volumes_are_refused():
    with pytest.raises(ValueError, match="two claims mount at the same path"):
        KubeflowConfig(pvc_mounts=(("a", "/data"), ("b", "/data/")))
    with pytest.raises(ValueError, match=r"--pvc needs a YAML spec: .* give --output p\.yaml"):
        KubeflowConfig(output="p.json", pvc_mounts=(("a", "/data"),))


def test_the_command_mounts_the_pvcs_it_is_given(tmp_path):
    output = tmp_path / "harflow.yaml"
    result = harflow(
        "kubeflow", "compile", "--work-dir", "gs://bucket/harflow", "--data", "/data/ucf101", "--serving-dir", "/models/harflow",
        "--output", str(output), "--pvc", "harflow-data:/data", "--pvc", "harflow-models:/models",
    )
    assert result.returncode == 0, result.stderr
    assert "volume: claim harflow-models mounted at /models in every step" in result.stdout.splitlines()
    _, platform = yaml.safe_load_all(output.read_text())
    pusher = platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"]["Pusher_executor"]
    assert [mount["mountPath"] for mount in pusher["pvcMount"]] == ["/data", "/models"]


def harflow_paths(spec: dict) -> set[str]:
    """Every dotted harflow.* name in the spec (executor classes, the Trainer's run_fn, ...), artifact type names left out."""
    import re

    text = json.dumps(spec)
    type_names = set(re.findall(r'"schemaTitle": "([^"]+)"', text)) | set(re.findall(r"title: ([\w.]+)", text))
    return {name for name in re.findall(r"\bharflow(?:\.[A-Za-z_]\w*)+", text) if name not in type_names}


def import_path(path: str):
    """"harflow.trainer.task.run_fn" -> the object: the longest importable module, then its attributes."""
    import importlib

    parts = path.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            found = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for name in parts[cut:]:
            found = getattr(found, name)
        return found
    raise ModuleNotFoundError(path)


def test_every_harflow_path_in_the_spec_imports_from_the_installed_package(compiled):
    _, output = compiled
    paths = harflow_paths(spec_of(output))
    assert "harflow.trainer.task.run_fn" in paths
    assert "harflow.components.video_example_gen.executor.Executor" in paths
    assert "harflow.components.model_comparison.executor.Executor" in paths
    for path in sorted(paths):
        assert callable(import_path(path)), path
