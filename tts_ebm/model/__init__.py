"""Acoustic model: text encoder, duration predictor, MAS alignment and energy network."""

from tts_ebm.model.acoustic import AcousticModel, GenerateOutput
from tts_ebm.model.config import ModelConfig

__all__ = ["AcousticModel", "GenerateOutput", "ModelConfig"]
