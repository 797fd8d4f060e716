"""Developer tools (running a notebook headless)."""
