"""The TFRecord format harflow writes and reads: one `tf.train.Example` per clip.

Shared by the ingestion component (writer), the trainer and the exported
model's `serving_examples` signature (readers). docs/data-format.md explains it.
"""

FRAMES = "frames"  # bytes_list: T JPEG-encoded RGB frames, in time order
LABEL = "label"  # int64: 0-based class index (the order of classInd.txt)
LABEL_NAME = "label_name"  # bytes: the class name
CLIP_ID = "clip_id"  # bytes: the clip's path relative to the dataset root
GROUP = "group"  # bytes: the clip's group (UCF101's gNN); clips of one group stay in one split
NUM_FRAMES = "num_frames"  # int64: T
HEIGHT = "height"  # int64
WIDTH = "width"  # int64
SOURCE_FRAMES = "source_frames"  # int64: frames the source video really had (or decoded)
PADDED = "padded"  # int64 0/1: the clip had fewer than T frames, so frames were repeated
PARTIAL = "partial"  # int64 0/1: decoding stopped early (truncated file); the frames obtained were kept
# only with several clips per video: on the eval split (IngestConfig.eval_clips_per_video > 1), on train and val
# (IngestConfig.train_segments > 1):
VIDEO_ID = "video_id"  # bytes: the video the clip was cut from (its path relative to the dataset root)
CLIP_INDEX = "clip_index"  # int64: which of the video's equal segments the clip samples, 0-based

# every feature but the JPEG frames: what TFDV summarises (pipeline.tfdv_components)
SMALL_FEATURES = (LABEL, LABEL_NAME, CLIP_ID, GROUP, NUM_FRAMES, HEIGHT, WIDTH, SOURCE_FRAMES, PADDED, PARTIAL)

REJECTS_FILE = "rejects.jsonl"  # beside the Split-* folders of an Examples artifact: one JSON line per unreadable clip


# --------------------------------------------------------------------------- writing an Example without TensorFlow


def serialize_example(values: dict[str, list[bytes] | list[int]]) -> bytes:
    """A serialized `tf.train.Example` of bytes and int64 features, written without importing TensorFlow.

    {name: [bytes, ...]} becomes a bytes_list, {name: [int, ...]} an int64_list.
    The Beam workers of ingestion use this so that they never load TensorFlow
    (seconds of start-up per worker process); tests parse the result with
    `tf.train.Example.FromString`. Protocol buffers' wire format:
    Example{features=1: Features{feature=1: map<string, Feature>}},
    Feature{bytes_list=1 | int64_list=3}, BytesList{value=1}, Int64List{value=1, packed}.
    """
    entries = []
    for name in sorted(values):
        items = values[name]
        if all(isinstance(item, (bytes, bytearray)) for item in items):
            inner = _field(1, b"".join(_field(1, bytes(item)) for item in items))  # Feature.bytes_list
        elif all(isinstance(item, int) for item in items):
            inner = _field(3, _field(1, b"".join(_varint(item) for item in items)))  # Feature.int64_list, packed
        else:
            raise TypeError(f"feature {name!r}: values must be all bytes or all ints")
        entries.append(_field(1, _field(1, name.encode()) + _field(2, inner)))  # map entry: key=1, value=2
    return _field(1, b"".join(entries))  # Example.features


def _varint(value: int) -> bytes:
    value &= (1 << 64) - 1  # negative int64s are written as their 64-bit two's complement
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited field (wire type 2)."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload
