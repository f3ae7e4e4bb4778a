"""The harflow TFX pipeline: one function builds it, runners run it."""
