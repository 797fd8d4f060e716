"""Finding an exception handler without a neuron list: the procedure, the depth sweep, planted test models."""
