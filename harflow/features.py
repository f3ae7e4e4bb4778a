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

CLASS_NAMES_FILE = "class_names.txt"  # beside the Split-* folders of an Examples artifact
REJECTS_FILE = "rejects.jsonl"  # likewise: one JSON line per clip that could not be read
