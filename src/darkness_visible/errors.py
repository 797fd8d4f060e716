"""The errors a user can meet and fix, as one family of exception types.

Every error here carries a message whose first line says what is wrong and how to fix it; the command line
(:func:`darkness_visible.cli.main`) prints that message and exits with status 2 instead of a traceback.
Anything else that escapes is a bug in the package and keeps its traceback.

Each class also derives from the built-in type that code written before this module caught
(``ValueError``, ``IndexError``, ``RuntimeError``, ``OSError``), so ``except ValueError`` still works.

=============================  ==================================================================
class                          raised when
=============================  ==================================================================
:class:`DVUserError`           base class: any error the user can fix
:class:`ModelUnavailableError` the weights cannot be had here (offline, missing files)
:class:`CheckpointError`       a checkpoint is there but unusable (corrupt weights, bad config,
                               not a GPT-2-family model, vocabulary smaller than the tokenizer's)
:class:`SettingError`          a setting or argument is out of range (``--batch-size 0``,
                               ``--window 0``, a NaN threshold, invalid ``_config.yml``)
:class:`LayerError`            a layer index outside the model, or a variant not defined at a layer
:class:`NeuronIndexError`      a neuron index outside the model's MLP
:class:`ContextLengthError`    a text or window longer than the model's context
:class:`CorpusError`           the corpus cannot be had (hub offline) or is too short
:class:`CacheUnwritableError`  the cache folder cannot be written (read-only, not a folder)
:class:`CorruptCacheError`     a cache folder failed its checks (normally healed, not shown)
:class:`ChapterError`          a chapter command cannot find its notebook
=============================  ==================================================================
"""

from __future__ import annotations


class DVUserError(Exception):
    """An error the user can fix; its message names the fix. The CLI prints it without a traceback, and so
    does IPython (a chapter's kernel, the book build, a notebook): one ``error:`` line, as on the command line."""

    def _render_traceback_(self) -> list[str]:
        """What IPython shows instead of the traceback (its hook for exceptions that format themselves)."""
        return [f"error: {self}"]


class ModelUnavailableError(DVUserError, RuntimeError):
    """The requested weights cannot be had here (offline and not cached, or files missing)."""


class CheckpointError(ModelUnavailableError):
    """A checkpoint exists but cannot be used: corrupt or truncated weights, an invalid ``config.json``,
    an architecture outside the GPT-2 family, or a vocabulary smaller than the GPT-2 tokenizer's."""


class SettingError(DVUserError, ValueError):
    """A setting or argument out of range, or an unreadable settings file."""


class LayerError(DVUserError, IndexError, ValueError):
    """A layer index outside the model, or a variant that is not defined at the requested layer."""


class NeuronIndexError(DVUserError, IndexError):
    """A neuron index outside ``[0, d_mlp)`` (the paper's indices refer to GPT-2 Small's 3,072 neurons)."""


class ContextLengthError(DVUserError, ValueError):
    """A text is longer than the model's context window."""


class CorpusError(DVUserError, FileNotFoundError, ValueError):
    """The corpus cannot be read (hub out of reach, split not shipped) or is too short for the windows asked."""


class CacheUnwritableError(DVUserError, PermissionError):
    """The cache folder cannot be created or written (read-only file system, no permission, a file in the way)."""


class CorruptCacheError(DVUserError, RuntimeError):
    """A cache folder failed its checks (bad checksum, unreadable chunk or manifest, mismatched spec)."""


class ChapterError(DVUserError, FileNotFoundError):
    """A chapter command cannot find the book's notebooks."""


def one_line(error: BaseException, limit: int = 300) -> str:
    """``"Type: message"`` of another library's exception on one line (whitespace collapsed, at most ``limit``
    characters), for wrapping it in a message of this package."""
    text = " ".join(str(error).split()) or "(no message)"
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return f"{type(error).__name__}: {text}"
