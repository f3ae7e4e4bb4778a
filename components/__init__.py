"""harflow's custom TFX components (each a spec plus an executor)."""
