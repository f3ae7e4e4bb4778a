"""harflow: a TFX pipeline that learns to recognise human activities in videos and serves the result."""

__version__ = "0.1.0"
