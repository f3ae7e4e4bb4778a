"""Loading a pushed model and predicting clips with it."""
