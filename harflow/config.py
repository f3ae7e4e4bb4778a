"""All of harflow's settings in one typed place.

A `PipelineConfig` is built from the command line (or by hand in Python),
travels into TFX components as JSON (`to_json` / `from_json`), and is the only
source of defaults: no module keeps constants of its own.
"""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from harflow.artifacts import JPEG_SIGNATURE


@dataclass(frozen=True)
class IngestConfig:
    """How clips become TFRecord frame sequences."""

    dataset_root: str = "harflow-work/data/synth"
    # the layout of dataset_root: ucf101 (classInd.txt + split lists), hmdb51 (testTrainMulti_7030_splits),
    # folder (a folder per class) or auto (detected from the files; harflow/datasets/detect.py)
    dataset: str = "auto"
    split: int = 1  # which official split (1, 2 or 3; ucf101 and hmdb51)
    # the folder of the official split lists (ucfTrainTestlist/ or testTrainMulti_7030_splits/) when it is
    # neither in dataset_root nor beside it; empty: found by itself (harflow/datasets/detect.py)
    splits_dir: str = ""
    num_frames: int = 8  # frames sampled per clip, spread uniformly over the whole clip
    image_size: int = 64  # frames are resized to image_size x image_size
    jpeg_quality: int = 90
    color: str = "rgb"  # rgb, or gray (luminance repeated in all 3 channels, so the format stays [H, W, 3])
    val_fraction: float = 0.15  # share of the official train list's groups held out for validation
    # folder layout only: where groups come from (auto, subfolder, name, or a CSV file clip,group),
    # the share of groups for eval, and a seeded per-clip random split instead (only when asked)
    groups: str = "auto"
    test_fraction: float = 0.2
    random_split: bool = False
    split_seed: int = 0
    require_all_classes: bool = True  # fail the run when a non-empty split lacks a class
    # the leakage audit (harflow/leakage.py): two clips are near duplicates when their perceptual signatures
    # differ by at most leak_threshold bits of 64; the run fails when more than fail_on_leak of the eval
    # videos have one in train (1.0: never fails, the figure is only reported)
    leak_threshold: float = 8.0
    fail_on_leak: float = 1.0
    # also run TFX StatisticsGen, SchemaGen and ExampleValidator (TFDV) on the small features
    # (everything but the JPEG frames); off by default: statistics.md already gives the counts
    tfdv_statistics: bool = False
    # the evaluation protocol: clips written per eval-split (test) video, each sampling num_frames frames
    # from its own of this many equal segments of the video; > 1 adds video_id and clip_index features so
    # that ModelComparison reports video-level accuracy (clip scores averaged) beside single-clip accuracy
    eval_clips_per_video: int = 1
    # the same for train and val videos: > 1 cuts each into this many equal segments, one clip each, so
    # that the model trains on what a test clip of one segment shows (1: one clip over the whole video)
    train_segments: int = 1

    def __post_init__(self) -> None:
        if self.eval_clips_per_video < 1:
            raise ValueError(f"eval_clips_per_video must be >= 1, not {self.eval_clips_per_video}")
        if self.train_segments < 1:
            raise ValueError(f"train_segments must be >= 1, not {self.train_segments}")
        if self.split not in (1, 2, 3):
            raise ValueError(f"split must be 1, 2 or 3, not {self.split}")
        if self.num_frames < 1 or self.image_size < 8:
            raise ValueError("num_frames must be >= 1 and image_size >= 8")
        if not 1 <= self.jpeg_quality <= 100:
            raise ValueError(f"jpeg_quality must be in 1..100, not {self.jpeg_quality}")
        if self.color not in ("rgb", "gray"):
            raise ValueError(f"color must be rgb or gray, not {self.color!r}")
        if not 0 <= self.leak_threshold < 64 or not 0 <= self.fail_on_leak <= 1:
            raise ValueError("leak_threshold must be in [0, 64) bits and fail_on_leak a fraction in [0, 1]")
        if not 0 < self.test_fraction < 1 or not 0 <= self.val_fraction < 1:
            raise ValueError("test_fraction must be in (0, 1) and val_fraction in [0, 1)")


BACKBONE_NAMES: tuple[str, ...] = (
    "small",  # from scratch, keeps position (spatial soft-argmax): the lean default (docs/model.md)
    "scratch",  # from scratch: 4 blocks of two 3x3 convs (64/128/256/512), BN, max pooling, global max pool
    "mobilenet",
    "mobilenet_v2",
    "mobilenet_v3_small",
    "resnet50",
    "resnet152v2",
    "efficientnet_b0",
)
HEAD_NAMES: tuple[str, ...] = ("gru", "lstm", "average")  # average: frame averaging, no recurrence
AUGMENTATIONS: tuple[str, ...] = ("flip", "crop", "rotate", "zoom")


def parse_variant(spec: str) -> tuple[str, str]:
    """"mobilenet_v2+gru" -> ("mobilenet_v2", "gru"); a clear error for anything else."""
    backbone, plus, head = spec.strip().partition("+")
    if not plus or backbone not in BACKBONE_NAMES or head not in HEAD_NAMES:
        raise ValueError(
            f"variant {spec!r} is not BACKBONE+HEAD with BACKBONE one of {', '.join(BACKBONE_NAMES)} "
            f"and HEAD one of {', '.join(HEAD_NAMES)} (e.g. small+gru)"
        )
    return backbone, head


@dataclass(frozen=True)
class TrainConfig:
    """The model and how it is fitted (docs/model.md)."""

    backbone: str = "small"  # the frame CNN: one of BACKBONE_NAMES
    head: str = "gru"  # over frames: gru, lstm, or average (no recurrence: the order-blind baseline)
    bidirectional: bool = False  # wrap the GRU/LSTM in keras.layers.Bidirectional
    dense_stack: str = "lean"  # lean: softmax right after the head; seed: 1024-512-128-64 ReLU, dropout 0.5
    frame_differences: bool = True  # small/scratch: each frame with its difference from the previous one
    rnn_units: int = 64
    dropout: float = 0.3
    # ImageNet backbones (keras.applications)
    weights: str = "imagenet"  # imagenet, or none (random initialisation)
    weights_dir: str = ""  # a Keras cache (KERAS_HOME layout: models/<file>.h5); default: Keras's own cache
    trainable_layers: int = -1  # how many of the backbone's last layers fine-tune; -1: the backbone's default
    alpha: float = 1.0  # MobileNet width multiplier (v1: 0.25/0.5/0.75/1.0; v2: 0.35..1.4)
    backbone_size: int = 0  # resize frames to this inside the model for the backbone; 0: as ingested (>= 32)
    cache_trunk: str = "auto"  # auto: cache an ImageNet backbone's frozen layers' outputs unless augmenting; on; off
    # fitting
    epochs: int = 30
    batch_size: int = 16
    learning_rate: float = 2e-3
    early_stopping_patience: int = 8  # epochs without a better val_loss before stopping
    augment: tuple[str, ...] = ()  # clip-consistent: any of flip, crop, rotate, zoom (flip swaps left/right!)
    class_weights: bool = False  # weight the loss by inverse class frequency (imbalanced data); = balance "weights"
    # imbalanced data: none; weights (the loss weighted by inverse class frequency); sample (every class
    # drawn equally often: tf.data rejection resampling, trainer/data.py)
    balance: str = "none"
    mixed_precision: str = "auto"  # auto: mixed_float16 when a GPU is visible; on; off
    seed: int = 0
    # several variants in one run: "BACKBONE+HEAD" each; empty: the one variant backbone+head
    variants: tuple[str, ...] = ()
    tflite: bool = False  # also write model.tflite (+ class names json) beside the SavedModel (trainer/tflite.py)

    def __post_init__(self) -> None:
        object.__setattr__(self, "augment", tuple(self.augment))
        object.__setattr__(self, "variants", tuple(self.variants))
        if self.backbone not in BACKBONE_NAMES:
            raise ValueError(f"unknown backbone {self.backbone!r}; choose one of {', '.join(BACKBONE_NAMES)}")
        if self.head not in HEAD_NAMES:
            raise ValueError(f"unknown head {self.head!r}; choose one of {', '.join(HEAD_NAMES)}")
        for variant in self.variants:
            parse_variant(variant)
        if len(set(self.variants)) != len(self.variants):
            raise ValueError(f"variants are listed twice: {', '.join(self.variants)}")
        unknown = sorted(set(self.augment) - set(AUGMENTATIONS))
        if unknown:
            raise ValueError(f"unknown augmentation {', '.join(unknown)}; choose from {', '.join(AUGMENTATIONS)}")
        for name, value, choices in (
            ("dense_stack", self.dense_stack, ("lean", "seed")),
            ("weights", self.weights, ("imagenet", "none")),
            ("cache_trunk", self.cache_trunk, ("auto", "on", "off")),
            ("mixed_precision", self.mixed_precision, ("auto", "on", "off")),
            ("balance", self.balance, ("none", "weights", "sample")),
        ):
            if value not in choices:
                raise ValueError(f"{name} must be one of {', '.join(choices)}, not {value!r}")
        if self.class_weights:  # the older switch: the same as balance="weights"
            if self.balance == "sample":
                raise ValueError("class_weights and balance=sample both balance the classes; choose one (--balance)")
            object.__setattr__(self, "balance", "weights")

    @property
    def variant(self) -> str:
        """This config's variant name, BACKBONE+HEAD."""
        return f"{self.backbone}+{self.head}"

    def variant_configs(self) -> list["TrainConfig"]:
        """One config per variant to train (just this one when `variants` is empty)."""
        if not self.variants:
            return [self]
        configs = []
        for spec in self.variants:
            backbone, head = parse_variant(spec)
            configs.append(dataclasses.replace(self, backbone=backbone, head=head, variants=()))
        return configs


@dataclass(frozen=True)
class TrainerConfig:
    """What one TFX Trainer is given (its custom_config), and nothing more, so that TFX's cache reuses it
    when only other components' settings change: its variant's TrainConfig, the ingest settings its
    examples were written with (frames, size, colour: the model's input) and where resume state goes."""

    train: TrainConfig
    ingest: IngestConfig
    resume_root: str  # Keras BackupAndRestore state, one folder per variant and data (trainer/task.py)

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "TrainerConfig":
        data = json.loads(text)
        return cls(train=TrainConfig(**data["train"]), ingest=IngestConfig(**data["ingest"]), resume_root=data["resume_root"])


@dataclass(frozen=True)
class GateConfig:
    """What a model must reach to be blessed and pushed."""

    min_accuracy: float = 0.6  # absolute floor on eval-split accuracy
    # the candidate may not be worse than the last blessed model by more than this
    max_accuracy_drop: float = 0.0
    top_k: int = 5  # the Evaluator also reports top-k accuracy (1.0 when there are <= k classes)
    # optional class name -> category (e.g. UCF101's five groups): `harflow runs show` adds per-category accuracy
    categories: dict[str, str] = field(default_factory=dict)
    keep_versions: int = 3  # the Pusher keeps this many newest complete versions in the serving base path
    # an older version is removed only once its successor has been published this long (readers loading it finish)
    prune_grace_s: float = 60.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.min_accuracy <= 1.0 or self.max_accuracy_drop < 0.0:
            raise ValueError("min_accuracy must be in 0..1 and max_accuracy_drop >= 0")
        if self.top_k < 1 or self.keep_versions < 1:
            raise ValueError(f"top_k and keep_versions must be >= 1, not {self.top_k} and {self.keep_versions}")
        if self.prune_grace_s < 0:
            raise ValueError(f"prune_grace_s must be >= 0, not {self.prune_grace_s}")


@dataclass(frozen=True)
class ServingConfig:
    """How clients reach a model server (TF Serving, or its stand-ins in tests)."""

    model_name: str = "harflow"  # the name in TF Serving's models.config / --model_name
    # the compact request (T JPEG frames, tens of KB) by default; "serving_default" sends uint8 frames
    signature: str = JPEG_SIGNATURE
    jpeg_quality: int = 95  # of the frames a client sends to serving_jpeg (95: probabilities within ~1e-2 of uint8's)
    version: int | None = None  # None: the server's newest version
    timeout_s: float = 30.0  # per request; a server's first call on a model builds its graph (seconds)


@dataclass(frozen=True)
class WebConfig:
    """The web app (`harflow serve`, serving/web/) and the live predictions of `harflow predict`.

    The limits and the privilege model are explained in docs/web.md ("Limits and safety").
    """

    host: str = "127.0.0.1"  # 0.0.0.0 to accept other machines
    port: int = 8080
    # waitress worker threads: requests answered at once. More than max_analyses, so that a thread
    # is always free for /healthz and the page while analyses run and wait
    threads: int = 16
    max_upload_mb: float = 100.0  # larger uploads are refused with 413
    max_clip_seconds: float = 120.0  # only the first this-many seconds of a long clip are analysed
    # decoded pixels: a clip whose frames are larger (width x height), or whose analysed part holds more
    # (width x height x frames), is refused with 413 after reading its header, before any frame is sampled
    max_frame_pixels: int = 3840 * 2160  # 4K UHD
    max_clip_pixels: int = 1920 * 1080 * 25 * 120  # 120 s of 1080p at 25 fps
    max_analyses: int = 2  # uploads analysed at once; more wait up to analysis_wait_s, then get 503 + Retry-After
    analysis_wait_s: float = 10.0
    # waitress's connections: at most connection_limit open at once; a connection idle for channel_timeout_s
    # is closed, and one whose request is not fully received within request_timeout_s of its first byte
    # gets 408 and is closed (a trickling client is never idle; looked for every cleanup_interval_s, at
    # most a quarter of request_timeout_s); request headers over max_header_kb get 431
    connection_limit: int = 1000
    channel_timeout_s: int = 30
    request_timeout_s: int = 120  # a 100-MB upload needs about 0.9 MB/s; raise it for large uploads over slow links
    cleanup_interval_s: int = 5
    max_header_kb: int = 64
    shutdown_grace_s: float = 20.0  # SIGTERM / SIGINT: in-flight requests get this long to finish
    # privileges: started as root, serve binds its port and loads the model, then becomes `user`
    # (empty: run_as_default inside harflow's root file system; elsewhere root is refused) unless allow_root
    user: str = ""
    run_as_default: str = "nobody"
    allow_root: bool = False
    top_k: int = 5  # classes shown per clip
    # the timeline of a long clip: one prediction per window of this many seconds (the model's T frames
    # sampled from it as training sampled a clip); also the rolling window of --annotate / --webcam / --stream
    window_seconds: float = 2.0
    step_seconds: float = 0.5  # --annotate / --webcam / --stream: predict again every this-many seconds
    fallback_fps: float = 25.0  # for files and streams that declare no frame rate
    upload_dir: str = ""  # where uploads wait while analysed (deleted after the answer); empty: a new temp dir

    def __post_init__(self) -> None:
        if self.max_upload_mb <= 0 or self.max_clip_seconds <= 0:
            raise ValueError("max_upload_mb and max_clip_seconds must be > 0")
        if self.top_k < 1 or self.threads < 1 or not 0 <= self.port <= 65535:
            raise ValueError(f"top_k and threads must be >= 1 and port in 0..65535, not {self.top_k}, {self.threads}, {self.port}")
        if self.window_seconds <= 0 or self.step_seconds <= 0 or self.fallback_fps <= 0:
            raise ValueError("window_seconds, step_seconds and fallback_fps must be > 0")
        if not 1 <= self.max_analyses < self.threads:
            raise ValueError(f"max_analyses must be >= 1 and below threads (a thread stays free for /healthz), "
                             f"not {self.max_analyses} with {self.threads} threads (--max-analyses, --threads)")
        if min(self.max_frame_pixels, self.max_clip_pixels, self.connection_limit, self.channel_timeout_s,
               self.request_timeout_s, self.cleanup_interval_s, self.max_header_kb) < 1 or self.analysis_wait_s < 0 or self.shutdown_grace_s < 0:
            raise ValueError("the pixel, connection and time limits of WebConfig must be > 0 (waits >= 0)")
        if self.user and self.allow_root:
            raise ValueError("give --user NAME (become NAME after start-up) or --allow-root (stay root), not both")

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)


@dataclass(frozen=True)
class CompareConfig:
    """How the variants of one run are compared (components/model_comparison, docs/comparison.md)."""

    # class -> category: a JSON file {"class": "category", ...}; empty: the categories of the dataset
    # whose classes these are (UCF101's and HMDB51's five action types, the synthetic motion kinds;
    # each layout in harflow/datasets/ declares its own)
    category_map: str = ""
    # class pairs that differ only by direction ("A/B"): accuracy between the two tells order-awareness
    # apart; empty: the pairs the dataset declares (the synthetic dataset's four twins, HMDB51's sit/stand)
    direction_pairs: tuple[str, ...] = ()
    timing_runs: int = 10  # inference ms per clip: median of this many single-clip calls

    def __post_init__(self) -> None:
        object.__setattr__(self, "direction_pairs", tuple(self.direction_pairs))
        for pair in self.direction_pairs:
            if pair.count("/") != 1:
                raise ValueError(f"direction pair {pair!r} is not CLASS/CLASS")
        if self.timing_runs < 1:
            raise ValueError(f"timing_runs must be >= 1, not {self.timing_runs}")


@dataclass(frozen=True)
class SynthConfig:
    """The embedded synthetic dataset (harflow/datasets/synth.py, `harflow synth` and `demo`)."""

    clips_per_class_train: int = 64
    clips_per_class_test: int = 16
    frames: int = 33  # odd: ingestion then samples a clip and its time reversal at mirrored frames (harflow/datasets/synth.py)
    size: int = 96  # square frames, pixels
    fps: float = 25.0
    seed: int = 0

    def __post_init__(self) -> None:
        if self.clips_per_class_train < 1 or self.clips_per_class_test < 1:
            raise ValueError("a synthetic dataset needs at least 1 train and 1 test clip per class")
        if self.frames < 2:
            raise ValueError(f"clips need at least 2 frames to show motion, got {self.frames}")
        if self.size < 32:
            raise ValueError(f"frames must be at least 32 pixels, got {self.size}")
        if self.fps <= 0:
            raise ValueError(f"fps must be positive, got {self.fps}")


@dataclass(frozen=True)
class KubeflowConfig:
    """How the pipeline is compiled for Kubeflow Pipelines / Vertex AI Pipelines (kubeflow/, docs/kubeflow.md)."""

    image: str = "harflow:0.1.0"  # the pipeline image every step runs in (kubeflow/Dockerfile), pushed to a registry
    output: str = "harflow-pipeline.yaml"  # the compiled PipelineSpec (YAML; .json: JSON)
    gpus: int = 0  # GPUs requested for each Trainer step
    # the accelerator's name: a Kubernetes resource on Kubeflow Pipelines; on Vertex AI a type like NVIDIA_TESLA_T4
    gpu_type: str = "nvidia.com/gpu"
    trainer_cpus: float = 0.0  # CPU limit of each Trainer step; 0: the cluster's default
    trainer_memory_gb: float = 0.0  # memory limit (GB) of each Trainer step; 0: the cluster's default
    ingest_beam_args: tuple[str, ...] = ()  # Beam options for VideoExampleGen only (e.g. --runner=DataflowRunner ...)
    # PersistentVolumeClaims every step mounts, (claim name, mount path) pairs: open-source Kubeflow's volumes
    pvc_mounts: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "ingest_beam_args", tuple(self.ingest_beam_args))
        object.__setattr__(self, "pvc_mounts", tuple((str(name), str(path)) for name, path in self.pvc_mounts))
        if not self.image:
            raise ValueError("the pipeline image is empty; give --image REGISTRY/harflow:TAG (docs/kubeflow.md)")
        if self.gpus < 0 or self.trainer_cpus < 0 or self.trainer_memory_gb < 0:
            raise ValueError("gpus, trainer CPUs and trainer memory must be >= 0")
        for name, path in self.pvc_mounts:
            check_pvc_mount(name, path)
        paths = [path.rstrip("/") for _, path in self.pvc_mounts]
        if len(set(paths)) < len(paths):
            raise ValueError(f"--pvc: two claims mount at the same path ({', '.join(sorted(paths))}); give each its own")
        if self.pvc_mounts and self.output.endswith(".json"):
            raise ValueError(
                f"--pvc needs a YAML spec: the volumes go into the Kubernetes platform config, the YAML file's second "
                f"document, which a JSON spec cannot carry; give --output {self.output[:-5]}.yaml"
            )


# a Kubernetes object name (RFC 1123 subdomain), as a PersistentVolumeClaim's name must be
_KUBERNETES_NAME = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"


def check_pvc_mount(name: str, path: str) -> None:
    """A PersistentVolumeClaim mount: a Kubernetes name and an absolute path; a clear error otherwise."""
    if not re.fullmatch(_KUBERNETES_NAME, name) or len(name) > 253:
        raise ValueError(
            f"--pvc {name}:{path}: {name!r} is not a PersistentVolumeClaim name (lower-case letters, digits, '-' and '.', "
            "e.g. harflow-data); `kubectl get pvc -n NAMESPACE` lists the claims"
        )
    if not path.startswith("/") or ":" in path:
        raise ValueError(f"--pvc {name}:{path}: the mount path must be absolute, e.g. --pvc {name}:/data")


@dataclass(frozen=True)
class PipelineConfig:
    name: str = "harflow"
    work_dir: str = "harflow-work"  # pipeline root, metadata and serving dir live here by default
    runner: str = "beam"  # beam (BeamDagRunner) or local (LocalDagRunner)
    beam_args: tuple[str, ...] = ("--direct_running_mode=multi_processing", "--direct_num_workers=2")
    # Beam options for VideoExampleGen only, after beam_args (they win): e.g. a DaskRunner for ingestion
    # while StatisticsGen and the Evaluator stay on the DirectRunner (docs/ingestion.md)
    ingest_beam_args: tuple[str, ...] = ()
    enable_cache: bool = True
    serving_dir: str = ""  # TF Serving model base path (a folder, gs:// or s3://); default <work_dir>/serving/<name>
    # MLMD's SQLite folder: a local path even when work_dir is gs:// (SQLite needs a file system); default <work_dir>/metadata
    metadata_dir: str = ""
    ingest: IngestConfig = field(default_factory=IngestConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    gate: GateConfig = field(default_factory=GateConfig)
    compare: CompareConfig = field(default_factory=CompareConfig)

    @property
    def pipeline_root(self) -> str:
        return join_path(self.work_dir, "pipelines", self.name)

    @property
    def metadata_path(self) -> str:
        return join_path(self.metadata_dir or join_path(self.work_dir, "metadata"), f"{self.name}.sqlite")

    @property
    def serving_base(self) -> str:
        return self.serving_dir or join_path(self.work_dir, "serving", self.name)

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), sort_keys=True)

    def with_train(self, train: TrainConfig) -> "PipelineConfig":
        return dataclasses.replace(self, train=train)

    @classmethod
    def from_json(cls, text: str) -> "PipelineConfig":
        data = json.loads(text)
        return cls(
            **{k: v for k, v in data.items() if k not in ("ingest", "train", "gate", "compare", "beam_args", "ingest_beam_args")},
            beam_args=tuple(data.get("beam_args", ())),
            ingest_beam_args=tuple(data.get("ingest_beam_args", ())),
            ingest=IngestConfig(**data.get("ingest", {})),
            train=TrainConfig(**data.get("train", {})),
            gate=GateConfig(**data.get("gate", {})),
            compare=CompareConfig(**data.get("compare", {})),
        )

    def absolute(self) -> "PipelineConfig":
        """The same config with every path made absolute (TFX components run elsewhere).

        Object storage URIs (gs://, s3://, ...: a Kubeflow run's paths) are kept as they are.
        """
        ingest = dataclasses.replace(self.ingest, dataset_root=absolute_path(self.ingest.dataset_root))
        train = self.train
        if train.weights_dir:
            train = dataclasses.replace(train, weights_dir=absolute_path(train.weights_dir))
        return dataclasses.replace(
            self,
            train=train,
            work_dir=absolute_path(self.work_dir),
            serving_dir=absolute_path(self.serving_base),
            metadata_dir=absolute_path(self.metadata_dir) if self.metadata_dir else "",
            ingest=ingest,
        )


def is_uri(path: str) -> bool:
    """True for object storage and other URIs ("gs://bucket/x", "s3://...", "minio://..."), False for local paths."""
    scheme, sep, _ = path.partition("://")
    return bool(sep) and scheme.replace("+", "").replace("-", "").replace(".", "").isalnum()


def absolute_path(path: str) -> str:
    """A local path made absolute; a URI unchanged (Path.resolve would turn "gs://b" into "<cwd>/gs:/b")."""
    return path if is_uri(path) else str(Path(path).resolve())


def join_path(base: str, *parts: str) -> str:
    """base/part/...: a local path joined by pathlib, a URI by "/" (pathlib would fold "gs://" into "gs:/")."""
    if is_uri(base):
        return "/".join([base.rstrip("/"), *parts])
    return str(Path(base, *parts))
