"""TF Serving's BatchingParameters and MonitoringConfig messages, for parsing the deployment's config files.

tensorflow-serving-api (in harflow's environment) ships only the ModelServerConfig side of TF
Serving's protos, not `session_bundle_config.proto` (BatchingParameters, read with
--batching_parameters_file) nor `monitoring_config.proto` (MonitoringConfig, read with
--monitoring_config_file). When the real modules import, they are used; otherwise the two messages
are declared here with TF Serving's package, field names, numbers and types (as in TF Serving
2.20's .proto files, tensorflow_serving/servables/tensorflow/session_bundle_config.proto and
tensorflow_serving/config/monitoring_config.proto), so protobuf's own text-format parser reads the
files exactly as the model server does: unknown fields and wrong types fail.
"""

from __future__ import annotations

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory, wrappers_pb2

_FIELD = descriptor_pb2.FieldDescriptorProto
_INT64, _BOOL, _STRING = ".google.protobuf.Int64Value", ".google.protobuf.BoolValue", ".google.protobuf.StringValue"

# (name, number, type, type_name, label)
_BATCHING_FIELDS = [
    ("max_batch_size", 1, _FIELD.TYPE_MESSAGE, _INT64, _FIELD.LABEL_OPTIONAL),
    ("batch_timeout_micros", 2, _FIELD.TYPE_MESSAGE, _INT64, _FIELD.LABEL_OPTIONAL),
    ("max_enqueued_batches", 3, _FIELD.TYPE_MESSAGE, _INT64, _FIELD.LABEL_OPTIONAL),
    ("num_batch_threads", 4, _FIELD.TYPE_MESSAGE, _INT64, _FIELD.LABEL_OPTIONAL),
    ("thread_pool_name", 5, _FIELD.TYPE_MESSAGE, _STRING, _FIELD.LABEL_OPTIONAL),
    ("allowed_batch_sizes", 6, _FIELD.TYPE_INT64, "", _FIELD.LABEL_REPEATED),
    ("pad_variable_length_inputs", 7, _FIELD.TYPE_BOOL, "", _FIELD.LABEL_OPTIONAL),
    ("enable_large_batch_splitting", 8, _FIELD.TYPE_MESSAGE, _BOOL, _FIELD.LABEL_OPTIONAL),
    ("max_execution_batch_size", 9, _FIELD.TYPE_MESSAGE, _INT64, _FIELD.LABEL_OPTIONAL),
]
_PROMETHEUS_FIELDS = [
    ("enable", 1, _FIELD.TYPE_BOOL, "", _FIELD.LABEL_OPTIONAL),
    ("path", 2, _FIELD.TYPE_STRING, "", _FIELD.LABEL_OPTIONAL),
]
_MONITORING_FIELDS = [
    ("prometheus_config", 1, _FIELD.TYPE_MESSAGE, ".tensorflow.serving.PrometheusConfig", _FIELD.LABEL_OPTIONAL),
]


def _declared_messages() -> dict:
    """The three messages, declared in a pool of their own (the real ones may not be importable)."""
    pool = descriptor_pool.DescriptorPool()
    pool.AddSerializedFile(wrappers_pb2.DESCRIPTOR.serialized_pb)
    declared = descriptor_pb2.FileDescriptorProto(
        name="harflow_tests/tf_serving_configs.proto", package="tensorflow.serving", syntax="proto3",
        dependency=["google/protobuf/wrappers.proto"],
    )
    for message_name, fields in (
        ("BatchingParameters", _BATCHING_FIELDS),
        ("PrometheusConfig", _PROMETHEUS_FIELDS),
        ("MonitoringConfig", _MONITORING_FIELDS),
    ):
        message = declared.message_type.add(name=message_name)
        for name, number, kind, type_name, label in fields:
            field = message.field.add(name=name, number=number, type=kind, label=label)
            if type_name:
                field.type_name = type_name
    pool.Add(declared)
    return {
        name: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"tensorflow.serving.{name}"))
        for name in ("BatchingParameters", "MonitoringConfig")
    }


def batching_parameters_class():
    try:
        from tensorflow_serving.servables.tensorflow.session_bundle_config_pb2 import BatchingParameters
    except ImportError:
        return _declared_messages()["BatchingParameters"]
    return BatchingParameters


def monitoring_config_class():
    try:
        from tensorflow_serving.config.monitoring_config_pb2 import MonitoringConfig
    except ImportError:
        return _declared_messages()["MonitoringConfig"]
    return MonitoringConfig
