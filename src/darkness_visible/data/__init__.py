"""What the model reads and what the paper names: WikiText windows, prompts, stimuli and the neuron lists."""
