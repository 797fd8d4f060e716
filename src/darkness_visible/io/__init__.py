"""Storage on disk: the content-keyed cache, memory-mapped result arrays, and whether the hub is reachable."""
