"""darkness_visible: an executable replication of Balogh (2026), "Darkness Visible: Reading the
Exception Handler of a Language Model" (arXiv 2604.04756), on GPT-2 Small's last MLP, traced with
nnsight."""

__version__ = "0.1.0"
