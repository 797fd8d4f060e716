"""Logit lens and tuned lens: per-layer decodings and their training."""
