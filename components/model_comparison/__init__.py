"""ModelComparison: every variant's trained model in, a comparison and the best model (the candidate) out."""
