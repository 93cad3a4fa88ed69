"""tts-ebm: energy-based text-to-speech.

`synthesize` and `Synthesizer` are imported lazily so that `import tts_ebm` does not
pull in torch for light tools (data preparation, listening-test export).
"""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["Synthesizer", "__version__", "synthesize"]


def __getattr__(name: str):
    if name in ("synthesize", "Synthesizer"):
        from tts_ebm import synthesis

        return getattr(synthesis, name)
    raise AttributeError(f"module 'tts_ebm' has no attribute {name!r}")
