"""Settings: which model, size preset, device and folders a run uses (``_config.yml`` and ``DV_*``)."""
