"""The TFX Trainer module: model, input pipeline, training and export."""
