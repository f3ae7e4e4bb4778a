"""harflow's Pusher: TFX's Pusher whose executor writes TF Serving versions atomically.

TFX's stock filesystem Pusher copies the model straight into
`base/<unix timestamp>`, where a running TF Serving could find it half-written.
`VersionedPusher` (component.py) keeps the stock component's inputs, outputs
and blessing check, and swaps the executor (executor.py): the next integer
version (highest + 1), copied into a hidden folder of the base path and
renamed into place in one atomic step (serving.versions), then all but the
newest `keep_versions` removed.

Like TFX, it records the push on the PushedModel artifact in MLMD:
`pushed` (1 or 0), `pushed_version` and `pushed_destination`.
"""
