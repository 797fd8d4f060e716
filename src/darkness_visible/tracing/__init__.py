"""nnsight passes: firing rules, the harvest, every-layer masks and attention, decomposition,
a plain-PyTorch reference."""
