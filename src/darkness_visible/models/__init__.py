"""Getting a model: loading (hub, folder, stand-in, tiny), identity (is it GPT-2 Small?), checks and preflight."""
