"""Statistics: bootstrap resampling and confidence intervals."""
