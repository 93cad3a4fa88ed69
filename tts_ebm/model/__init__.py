"""Acoustic model: text encoder, duration predictor, MAS alignment, prior decoder; the field it
conditions comes from tts_ebm.fields (built on tts_ebm.networks)."""

from tts_ebm.model.acoustic import AcousticModel, GenerateOutput
from tts_ebm.model.config import ModelConfig

__all__ = ["AcousticModel", "GenerateOutput", "ModelConfig"]
