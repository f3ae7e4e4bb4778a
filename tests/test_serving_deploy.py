"""The TF Serving deployment files parse and agree with each other.

Docker, Kubernetes and TF Serving cannot run here; these tests check what can be
checked offline: YAML syntax, the .config files as TF Serving's text protos
(ModelServerConfig, BatchingParameters, MonitoringConfig), that ports, paths and
flags line up, and that the image is the TF Serving release of the pinned TensorFlow.
"""

import importlib.metadata
from pathlib import Path

import pytest
import yaml
from google.protobuf import text_format

from tests.serving_config_protos import batching_parameters_class, monitoring_config_class

DEPLOY = Path(__file__).resolve().parent.parent / "serving" / "deploy"


def models_config():
    from google.protobuf import text_format
    from tensorflow_serving.config import model_server_config_pb2

    return text_format.Parse((DEPLOY / "models.config").read_text(), model_server_config_pb2.ModelServerConfig())


def test_models_config_is_a_model_server_config_serving_the_newest_versions():
    (model,) = models_config().model_config_list.config
    assert model.name == "harflow" and model.model_platform == "tensorflow"
    assert model.base_path == "/models/harflow"
    assert model.model_version_policy.WhichOneof("policy_choice") == "latest"
    assert model.model_version_policy.latest.num_versions >= 1


def test_docker_compose_runs_tf_serving_on_the_pushed_base_path():
    service = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())["services"]["tf-serving"]
    assert service["image"].startswith("tensorflow/serving:")
    assert {"8500:8500", "8501:8501"} <= set(service["ports"])
    targets = {volume.rsplit(":", 2)[1] for volume in service["volumes"]}  # SOURCE:TARGET:ro
    assert "/models/harflow" in targets and "/models/models.config" in targets
    assert "--model_config_file=/models/models.config" in service["command"]


def test_kubernetes_manifest_has_a_deployment_and_a_service_on_both_ports():
    documents = {doc["kind"]: doc for doc in yaml.safe_load_all((DEPLOY / "kubernetes.yaml").read_text())}
    assert {"Deployment", "Service", "PersistentVolumeClaim"} <= set(documents)
    container = documents["Deployment"]["spec"]["template"]["spec"]["containers"][0]
    assert container["image"].startswith("tensorflow/serving:")
    assert {p["containerPort"] for p in container["ports"]} == {8500, 8501}
    mounts = {m["mountPath"] for m in container["volumeMounts"]}
    assert Path(models_config().model_config_list.config[0].base_path).parent.as_posix() in mounts
    assert {p["port"] for p in documents["Service"]["spec"]["ports"]} == {8500, 8501}


def compose_service() -> dict:
    return yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())["services"]["tf-serving"]


def kubernetes_documents() -> dict:
    return {doc["kind"]: doc for doc in yaml.safe_load_all((DEPLOY / "kubernetes.yaml").read_text())}


def kubernetes_container() -> dict:
    return kubernetes_documents()["Deployment"]["spec"]["template"]["spec"]["containers"][0]


def flag_values(arguments: list) -> dict:
    """["--port=8500", "--enable_batching"] -> {"port": "8500", "enable_batching": "true"} (TF Serving's flag syntax)."""
    flags = {}
    for argument in arguments:
        name, equals, value = argument.removeprefix("--").partition("=")
        flags[name] = value if equals else "true"
    return flags


def test_both_deployments_run_the_tf_serving_release_of_the_pinned_tensorflow():
    """The models are exported by the pinned TF; a TF Serving of another minor release may lack its ops."""
    tensorflow = importlib.metadata.version("tensorflow")  # e.g. 2.21.0
    major_minor = ".".join(tensorflow.split(".")[:2])
    images = {compose_service()["image"], kubernetes_container()["image"]}
    assert len(images) == 1, images
    (image,) = images
    repository, _, tag = image.partition(":")
    assert repository == "tensorflow/serving"
    assert tag.startswith(major_minor + "."), f"{image} does not serve TensorFlow {tensorflow}'s models"
    assert not tag.endswith(("-gpu", "-devel")), "the CPU serving image; -gpu for GPUs is a deliberate change"


def read_text_proto(name: str, message_class):
    return text_format.Parse((DEPLOY / name).read_text(), message_class())


def test_batching_config_is_tf_servings_batching_parameters_with_sane_limits():
    batching = read_text_proto("batching.config", batching_parameters_class())
    assert batching.max_batch_size.value >= 2  # one clip per request: batching merges concurrent requests
    assert 0 < batching.batch_timeout_micros.value <= 10_000  # a few ms at most added to a request's latency
    assert batching.num_batch_threads.value >= 1 and batching.max_enqueued_batches.value >= 1
    cpus = kubernetes_container()["resources"]["requests"]["cpu"]
    assert batching.num_batch_threads.value <= int(cpus), "more batch threads than the pod's CPUs"
    if batching.allowed_batch_sizes:
        assert batching.allowed_batch_sizes[-1] == batching.max_batch_size.value  # TF Serving refuses it otherwise


def test_monitoring_config_exposes_prometheus_metrics_on_the_rest_port():
    monitoring = read_text_proto("monitoring.config", monitoring_config_class())
    assert monitoring.prometheus_config.enable
    assert monitoring.prometheus_config.path == "/monitoring/prometheus/metrics"
    annotations = kubernetes_documents()["Deployment"]["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/path"] == monitoring.prometheus_config.path
    assert annotations["prometheus.io/port"] == "8501" and annotations["prometheus.io/scrape"] == "true"


@pytest.mark.parametrize("name", ["batching.config", "monitoring.config"])
def test_a_misspelt_config_field_fails_to_parse(name):
    """The parser is strict, so the tests above would catch a field TF Serving does not know."""
    message_class = batching_parameters_class() if name == "batching.config" else monitoring_config_class()
    with pytest.raises(text_format.ParseError):
        text_format.Parse((DEPLOY / name).read_text().replace("{", "{ no_such_field: 1 ", 1), message_class())


def test_compose_enables_batching_and_monitoring_with_the_mounted_files():
    service = compose_service()
    flags = flag_values(service["command"])
    mounted = {volume.rsplit(":", 2)[1]: volume.split(":")[0] for volume in service["volumes"]}  # target -> source
    assert flags["enable_batching"] == "true"
    for flag, name in [("model_config_file", "models.config"), ("batching_parameters_file", "batching.config"), ("monitoring_config_file", "monitoring.config")]:
        assert mounted[flags[flag]] == f"./{name}", flag  # the file beside docker-compose.yml, at the flag's path
        assert (DEPLOY / name).is_file()


def test_kubernetes_reads_the_three_configs_from_the_generated_config_map():
    """kustomization.yaml makes the ConfigMap from the same files compose mounts; the Deployment names each at its flag."""
    kustomization = yaml.safe_load((DEPLOY / "kustomization.yaml").read_text())
    assert kustomization["resources"] == ["kubernetes.yaml"]
    (generator,) = kustomization["configMapGenerator"]
    assert all((DEPLOY / name).is_file() for name in generator["files"])
    pod = kubernetes_documents()["Deployment"]["spec"]["template"]["spec"]
    container = pod["containers"][0]
    [config_volume] = [volume for volume in pod["volumes"] if "configMap" in volume]
    assert config_volume["configMap"]["name"] == generator["name"]
    [mount] = [m for m in container["volumeMounts"] if m["name"] == config_volume["name"]]
    flags = flag_values(container["args"])
    assert flags["enable_batching"] == "true"
    named = {flags[flag] for flag in ("model_config_file", "batching_parameters_file", "monitoring_config_file")}
    assert named == {f"{mount['mountPath']}/{name}" for name in generator["files"]}
