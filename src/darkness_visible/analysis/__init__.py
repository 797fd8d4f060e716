"""One module per chapter: the computations behind each claim."""
