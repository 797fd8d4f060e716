"""Whether the Hugging Face hub can be reached from here (one place, so tests can patch it)."""

from __future__ import annotations

import os
import socket
from urllib.parse import urlparse


def reachable(timeout: float = 3.0) -> bool:
    """True when ``HF_HUB_OFFLINE`` is unset and a TCP connection to the hub (``HF_ENDPOINT``) opens in time."""
    if os.environ.get("HF_HUB_OFFLINE", "0") not in ("0", "", "false", "False"):
        return False
    endpoint = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co"))
    try:
        socket.create_connection((endpoint.hostname, endpoint.port or 443), timeout=timeout).close()
        return True
    except OSError:
        return False
