"""Hyper-parameters of the acoustic model, stored as a plain dict in every checkpoint."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from tts_ebm.errors import UserInputError
from tts_ebm.model.variance import EMBEDDINGS, LEVELS
from tts_ebm.networks.energy import ENERGY_HEADS
from tts_ebm.networks.frame import FrameNetConfig

# Keys of configs stored before the frame network was named for what it is (it sizes every
# field, the velocity too): read under their new names.
RENAMED_KEYS = {"energy_channels": "frame_channels",
                "energy_filter_channels": "frame_filter_channels",
                "energy_heads": "frame_heads", "energy_depth": "frame_depth",
                "energy_kernel": "frame_kernel"}


@dataclass
class ModelConfig:
    """Sizes of the text encoder, duration predictor, prior decoder and frame network, and loss
    weights.

    `preset(name)` gives the sizes in PRESETS (`tiny` for CPU tests, `small` for the CPU demo,
    `ljspeech` for the GPU recipe). The dataclass defaults are the LJSpeech widths with the
    prior decoder and the frame network's down-sampling off (`decoder_layers` = 0,
    `frame_levels` = 0): a config stored before those existed then means the network it did.
    """

    n_mels: int = 80
    # text encoder (Grad-TTS layout: embedding, conv prenet, transformer, projection to mu)
    encoder_channels: int = 192
    encoder_filter_channels: int = 768
    encoder_heads: int = 2
    encoder_layers: int = 6
    encoder_kernel: int = 3
    encoder_prenet_layers: int = 3
    encoder_prenet_kernel: int = 5
    encoder_dropout: float = 0.1
    # duration predictor on the detached encoder output
    duration_channels: int = 256
    duration_kernel: int = 3
    duration_dropout: float = 0.1
    # prior decoder over frames (FastSpeech 2's decoder after the length regulator): turns the
    # piecewise-constant expanded mu into one with transitions, mu = expand(mu_ph) + dec(h);
    # trained by the prior loss on frames. 0 layers: mu is piecewise constant per phoneme
    decoder_layers: int = 0
    decoder_channels: int = 192
    decoder_kernel: int = 5
    # variance adaptor (tts_ebm/model/variance.py): pitch (and energy) predicted from the text
    # and embedded into the frames before the prior decoder, so that mu carries a pitch contour.
    # variance_level: none | phoneme | frame; variance_embedding: continuous | quantised
    variance_level: str = "none"
    variance_embedding: str = "continuous"
    variance_energy: bool = False
    variance_channels: int = 128
    variance_weight: float = 1.0
    # frame level: the predictor is regressed on one random window of this many frames per
    # utterance (0: whole utterances), so that it costs the same per step however long they are
    variance_window: int = 0
    # what the network over frames models (tts_ebm.fields): "energy" (g = grad_x E, time-free),
    # "velocity" (g = v(x, mu, t), the flow-matching peer), "x_prediction" (the same peer as
    # v = (x - x_hat) / t, x_hat = mu + f: starts at mu) or "timed_energy" (g = grad_x
    # E(x, mu, t)); frame_* below size the frame network of each of them
    field: str = "energy"
    energy_head: str = "quadratic"  # energy fields: quadratic | scalar (docs/DESIGN.md 3)
    # frame network (tts_ebm/networks/frame.py): a 1-D U-Net with frame_levels halvings, and
    # frame_depth conv + transformer blocks at the coarsest rate
    frame_channels: int = 256
    frame_filter_channels: int = 1024
    frame_heads: int = 4
    frame_depth: int = 4
    frame_kernel: int = 3
    frame_levels: int = 0
    # training
    segment_frames: int = 172
    prior_weight: float = 1.0
    duration_weight: float = 1.0
    # let the criterion's gradient reach the encoder through mu (Grad-TTS does). Off by default:
    # mu then stays the prior-loss estimate that MAS aligns with. On the mini corpus, delta with
    # it on degraded mu (MSE to target 0.30 vs 0.15) and durations (0.76 vs 1.04 of the target)
    criterion_grad_to_encoder: bool = False

    def __post_init__(self) -> None:
        for name, allowed in (("variance_level", LEVELS), ("variance_embedding", EMBEDDINGS)):
            if getattr(self, name) not in allowed:
                raise UserInputError(f"model.{name} must be one of {list(allowed)}, "
                                     f"got {getattr(self, name)!r}")
        if self.variance_level != "none" and not self.decoder_layers:
            raise UserInputError("model.variance_level needs the prior decoder (the pitch is "
                                 "embedded into its input): set model.decoder_layers >= 1")
        if self.energy_head not in ENERGY_HEADS:
            raise UserInputError(
                f"energy_head must be one of {list(ENERGY_HEADS)}, got {self.energy_head!r}"
            )
        for name in ("n_mels", "encoder_channels", "encoder_filter_channels", "encoder_heads",
                     "encoder_layers", "encoder_kernel", "encoder_prenet_kernel",
                     "duration_channels", "duration_kernel", "decoder_channels",
                     "decoder_kernel", "variance_channels", "frame_channels",
                     "frame_filter_channels", "frame_heads",
                     "frame_depth", "frame_kernel", "segment_frames"):
            if int(getattr(self, name)) < 1:
                raise UserInputError(f"model.{name} must be >= 1, got {getattr(self, name)}")
        for name in ("decoder_layers", "frame_levels", "variance_window"):
            if int(getattr(self, name)) < 0:
                raise UserInputError(f"model.{name} must be >= 0, got {getattr(self, name)}")
        if self.segment_frames % 2 ** self.frame_levels:
            raise UserInputError(
                f"model.segment_frames ({self.segment_frames}) must be a multiple of "
                f"2^frame_levels ({2 ** self.frame_levels})"
            )
        for channels, heads in (("encoder_channels", "encoder_heads"),
                                ("frame_channels", "frame_heads")):
            if getattr(self, channels) % getattr(self, heads):
                raise UserInputError(
                    f"model.{channels} ({getattr(self, channels)}) must be divisible by "
                    f"model.{heads} ({getattr(self, heads)})"
                )
        for name in ("encoder_kernel", "encoder_prenet_kernel", "duration_kernel",
                     "decoder_kernel", "frame_kernel"):
            if getattr(self, name) % 2 == 0:
                raise UserInputError(f"model.{name} must be odd ('same' padding), "
                                     f"got {getattr(self, name)}")

    @classmethod
    def preset(cls, name: str, **overrides: Any) -> ModelConfig:
        """The sizes of preset `name` (see PRESETS) with `overrides` on top."""
        if name not in PRESETS:
            raise UserInputError(f"model.preset must be one of {list(PRESETS)}, got {name!r}")
        return cls.from_dict({**PRESETS[name], **overrides})

    @classmethod
    def tiny(cls, **overrides: Any) -> ModelConfig:
        return cls.preset("tiny", **overrides)

    @classmethod
    def ljspeech(cls, **overrides: Any) -> ModelConfig:
        return cls.preset("ljspeech", **overrides)

    def frame_network(self) -> FrameNetConfig:
        """The sizes of the frame network that the field is built on."""
        return FrameNetConfig(n_mels=self.n_mels, channels=self.frame_channels,
                              filter_channels=self.frame_filter_channels, heads=self.frame_heads,
                              depth=self.frame_depth, kernel=self.frame_kernel,
                              levels=self.frame_levels)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        """Build from a dict (checkpoint, YAML); unknown keys are an error, not ignored; keys of
        older configs (RENAMED_KEYS) are read under their new names."""
        data = {RENAMED_KEYS.get(key, key): value for key, value in data.items()}
        valid = [f.name for f in fields(cls)]
        unknown = sorted(set(data) - set(valid))
        if unknown:
            raise UserInputError(
                f"unknown model config key(s) {unknown}; valid keys: {', '.join(valid)}"
            )
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# What the CPU presets share.
_CPU_SHARED: dict[str, Any] = {"encoder_heads": 2, "encoder_dropout": 0.0, "frame_heads": 2,
                               "frame_depth": 2, "duration_dropout": 0.0}
# Every preset decodes mu over frames and draws on a 1-D U-Net (issue 20's sweep, docs/DESIGN.md
# section 3c): on held-out sentences the prior decoder took mu-alone WER from 0.45 to 0.32 and
# DNSMOS P.808 from 3.18 to 3.59, and the U-Net frame network, wider than the 80 mel bins, gave
# the lowest mel FD after the energy steps.
_DECODED_UNET: dict[str, Any] = {"decoder_layers": 3, "frame_levels": 2}
# ... and decode μ from a predicted pitch and energy per frame (the pitch sweep, docs/DESIGN.md
# section 3d): on the held-out sentences μ alone went from Distill-MOS 2.4 to 3.5 (copy
# synthesis 3.7), its harmonics following a contour instead of staying flat in each phoneme.
# The predictor is regressed on a 128-frame window per utterance, so that its cost does not grow
# with utterance length: a step costs 1.16 steps of the design before (1.25 over whole utterances).
_PITCHED: dict[str, Any] = {"variance_level": "frame", "variance_embedding": "continuous",
                            "variance_energy": True, "variance_window": 128}
# Model sizes by name, smallest first; fields not named keep the ModelConfig defaults.
PRESETS: dict[str, dict[str, Any]] = {
    # ~0.1 M: trains and samples in milliseconds on a CPU (tests).
    "tiny": {**_CPU_SHARED, "encoder_channels": 32, "encoder_filter_channels": 64,
             "encoder_layers": 2, "encoder_prenet_layers": 1, "duration_channels": 32,
             "decoder_layers": 1, "decoder_channels": 16, "frame_levels": 1,
             "frame_channels": 32, "frame_filter_channels": 64, "segment_frames": 32},
    # 3.96 M: the CPU demo. The text encoder's width and depth decide mu's WER; the prior
    # decoder (128 channels) draws mu's transitions, from the predicted pitch and energy; the
    # U-Net energy (96 channels, two halvings) adds texture and costs a double backward per
    # training step.
    "small": {**_CPU_SHARED, **_DECODED_UNET, **_PITCHED, "encoder_channels": 128,
              "encoder_filter_channels": 512, "encoder_layers": 4, "encoder_prenet_layers": 2,
              "duration_channels": 128, "decoder_channels": 128, "frame_channels": 96,
              "frame_filter_channels": 384, "segment_frames": 64},
    # between small and ljspeech, for longer CPU runs; no recipe uses it yet.
    "base": {**_CPU_SHARED, **_DECODED_UNET, **_PITCHED, "encoder_channels": 192,
             "encoder_filter_channels": 768, "encoder_layers": 4, "encoder_prenet_layers": 3,
             "encoder_dropout": 0.05, "duration_channels": 192, "duration_dropout": 0.05,
             "decoder_channels": 192, "variance_channels": 192, "frame_channels": 128,
             "frame_filter_channels": 512,
             "segment_frames": 96},
    # the LJSpeech model for a GPU (Grad-TTS / Matcha-TTS sized): the ModelConfig widths with a
    # 4-layer 256-channel prior decoder, its pitch and energy predictor, and the U-Net frame
    # network.
    "ljspeech": {"decoder_layers": 4, "decoder_channels": 256, "frame_levels": 2, **_PITCHED,
                 "variance_channels": 256},
}
