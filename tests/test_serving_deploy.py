"""The TF Serving deployment files parse and agree with each other.

Docker, Kubernetes and TF Serving cannot run here; these tests check what can be
checked offline: YAML syntax, models.config as TF Serving's ModelServerConfig
text proto, and that ports and paths line up.
"""

from pathlib import Path

import yaml

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
