"""HiFi-GAN generator (Kong et al. 2020), V1/V2/V3, in the original checkpoint format.

Module and parameter names follow jik876/hifi-gan `models.py` (`conv_pre`, `ups.N`,
`resblocks.N.convs1.M`, `conv_post`, weight norm as `weight_g`/`weight_v`) so that original
checkpoints — and fairseq's `hifigan.bin`, which uses the same layout — load with strict=True.
Weight norm is implemented with `torch.nn.utils.parametrizations.weight_norm` (the legacy
function is deprecated); torch's own load hook maps `weight_g`/`weight_v` onto it, and a
state-dict hook maps it back, so `state_dict()` is in the original format too.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import weight_norm as _weight_norm

from tts_ebm.errors import UserInputError
from tts_ebm.weights_file import load_weights_only
from vocoder.checks import check_mel

LRELU_SLOPE = 0.1
_REQUIRED_KEYS = (
    "resblock",
    "upsample_rates",
    "upsample_kernel_sizes",
    "upsample_initial_channel",
    "resblock_kernel_sizes",
    "resblock_dilation_sizes",
)


@dataclass(frozen=True)
class HiFiGANConfig:
    """The generator part of a HiFi-GAN config JSON (other keys are training settings)."""

    resblock: str
    upsample_rates: tuple[int, ...]
    upsample_kernel_sizes: tuple[int, ...]
    upsample_initial_channel: int
    resblock_kernel_sizes: tuple[int, ...]
    resblock_dilation_sizes: tuple[tuple[int, ...], ...]
    num_mels: int = 80
    sampling_rate: int = 22050
    hop_size: int = field(default=0)

    def __post_init__(self) -> None:
        upsampling = math.prod(self.upsample_rates)
        if self.hop_size == 0:
            object.__setattr__(self, "hop_size", upsampling)
        elif self.hop_size != upsampling:
            raise UserInputError(
                f"HiFi-GAN config: hop_size {self.hop_size} differs from the product of "
                f"upsample_rates {list(self.upsample_rates)} = {upsampling}"
            )
        if self.resblock not in ("1", "2"):
            raise UserInputError(f"HiFi-GAN config: resblock must be '1' or '2', got {self.resblock!r}")
        if len(self.upsample_rates) != len(self.upsample_kernel_sizes):
            raise UserInputError("HiFi-GAN config: upsample_rates and upsample_kernel_sizes differ in length")
        if len(self.resblock_kernel_sizes) != len(self.resblock_dilation_sizes):
            raise UserInputError(
                "HiFi-GAN config: resblock_kernel_sizes and resblock_dilation_sizes differ in length"
            )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HiFiGANConfig:
        """Read the generator keys of an original (or fairseq) config; `model_in_dim` = num_mels."""
        missing = [key for key in _REQUIRED_KEYS if key not in data]
        if missing:
            raise UserInputError(f"HiFi-GAN config lacks the keys {missing}")
        try:
            return cls(
                resblock=str(data["resblock"]),
                upsample_rates=tuple(int(v) for v in data["upsample_rates"]),
                upsample_kernel_sizes=tuple(int(v) for v in data["upsample_kernel_sizes"]),
                upsample_initial_channel=int(data["upsample_initial_channel"]),
                resblock_kernel_sizes=tuple(int(v) for v in data["resblock_kernel_sizes"]),
                resblock_dilation_sizes=tuple(
                    tuple(int(v) for v in d) for d in data["resblock_dilation_sizes"]
                ),
                num_mels=int(data.get("num_mels", data.get("model_in_dim", 80))),
                sampling_rate=int(data.get("sampling_rate", 22050)),
                hop_size=int(data.get("hop_size", 0)),
            )
        except (TypeError, ValueError) as error:
            if isinstance(error, UserInputError):
                raise
            raise UserInputError(f"HiFi-GAN config has a malformed value: {error}") from error

    @classmethod
    def v1(cls) -> HiFiGANConfig:
        return cls("1", (8, 8, 2, 2), (16, 16, 4, 4), 512, (3, 7, 11), ((1, 3, 5),) * 3)

    @classmethod
    def v2(cls) -> HiFiGANConfig:
        return cls("1", (8, 8, 2, 2), (16, 16, 4, 4), 128, (3, 7, 11), ((1, 3, 5),) * 3)

    @classmethod
    def v3(cls) -> HiFiGANConfig:
        return cls("2", (8, 8, 4), (16, 16, 8), 256, (3, 5, 7), ((1, 2), (2, 6), (3, 12)))


def _padding(kernel_size: int, dilation: int = 1) -> int:
    return (kernel_size * dilation - dilation) // 2


Wrap = Callable[[nn.Module], nn.Module]


def _no_weight_norm(module: nn.Module) -> nn.Module:
    return module


def _conv(channels: int, kernel_size: int, dilation: int, wrap: Wrap) -> nn.Module:
    return wrap(
        nn.Conv1d(channels, channels, kernel_size, 1, dilation=dilation,
                  padding=_padding(kernel_size, dilation))
    )


class ResBlock1(nn.Module):
    """Three dilated conv pairs with residual connections (V1, V2)."""

    def __init__(
        self, channels: int, kernel_size: int, dilation: tuple[int, ...], wrap: Wrap
    ) -> None:
        super().__init__()
        self.convs1 = nn.ModuleList(_conv(channels, kernel_size, d, wrap) for d in dilation)
        self.convs2 = nn.ModuleList(_conv(channels, kernel_size, 1, wrap) for _ in dilation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for c1, c2 in zip(self.convs1, self.convs2):
            xt = c2(F.leaky_relu(c1(F.leaky_relu(x, LRELU_SLOPE)), LRELU_SLOPE))
            x = x + xt
        return x


class ResBlock2(nn.Module):
    """Dilated single convs with residual connections (V3)."""

    def __init__(
        self, channels: int, kernel_size: int, dilation: tuple[int, ...], wrap: Wrap
    ) -> None:
        super().__init__()
        self.convs = nn.ModuleList(_conv(channels, kernel_size, d, wrap) for d in dilation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for conv in self.convs:
            x = x + conv(F.leaky_relu(x, LRELU_SLOPE))
        return x


def _to_original_names(module: nn.Module, state_dict: dict, prefix: str, local_metadata) -> None:
    """State-dict hook: `parametrizations.weight.original0/1` -> `weight_g`/`weight_v`."""
    for key in [k for k in state_dict if k.startswith(prefix) and ".parametrizations.weight." in k]:
        head, _, tail = key.rpartition(".parametrizations.weight.")
        suffix = {"original0": "weight_g", "original1": "weight_v"}[tail]
        state_dict[f"{head}.{suffix}"] = state_dict.pop(key)


def fold_weight_norm(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Original-format state dict -> plain weights: `X.weight = g · v / ‖v‖` (norm over all but
    dim 0, as weight norm computes it), for a Generator built with `weight_norm=False`."""
    folded = dict(state)
    for key_g in [k for k in state if k.endswith(".weight_g")]:
        head = key_g.removesuffix(".weight_g")
        if f"{head}.weight_v" not in state:
            continue  # left unpaired, so strict loading reports it
        v = folded.pop(f"{head}.weight_v")
        folded[f"{head}.weight"] = v * (folded.pop(key_g) / torch.norm_except_dim(v, 2, 0))
    return folded


class Generator(nn.Module):
    """Log-mel (B, num_mels, T) -> waveform (B, 1, T * hop) in [-1, 1].

    `weight_norm=False` builds plain convolutions, for inference from `fold_weight_norm`ed
    weights: loading then needs no parametrizations, which cost ~1 s to set up and remove.
    """

    def __init__(self, config: HiFiGANConfig, weight_norm: bool = True) -> None:
        super().__init__()
        wrap: Wrap = _weight_norm if weight_norm else _no_weight_norm
        self.config = config
        self.num_kernels = len(config.resblock_kernel_sizes)
        self.conv_pre = wrap(
            nn.Conv1d(config.num_mels, config.upsample_initial_channel, 7, 1, padding=3)
        )
        block = ResBlock1 if config.resblock == "1" else ResBlock2
        self.ups = nn.ModuleList()
        self.resblocks = nn.ModuleList()
        channels = config.upsample_initial_channel
        for rate, kernel in zip(config.upsample_rates, config.upsample_kernel_sizes):
            self.ups.append(wrap(
                nn.ConvTranspose1d(channels, channels // 2, kernel, rate, padding=(kernel - rate) // 2)
            ))
            channels //= 2
            for k, d in zip(config.resblock_kernel_sizes, config.resblock_dilation_sizes):
                self.resblocks.append(block(channels, k, d, wrap))
        self.conv_post = wrap(nn.Conv1d(channels, 1, 7, 1, padding=3))
        self.register_state_dict_post_hook(_to_original_names)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv_pre(x)
        for i, up in enumerate(self.ups):
            x = up(F.leaky_relu(x, LRELU_SLOPE))
            blocks = self.resblocks[i * self.num_kernels:(i + 1) * self.num_kernels]
            x = sum(block(x) for block in blocks) / self.num_kernels
        # the original uses leaky_relu's default slope (0.01) here, not LRELU_SLOPE
        return torch.tanh(self.conv_post(F.leaky_relu(x)))

    def remove_weight_norm(self) -> None:
        """Fold g·v/‖v‖ into plain weights: same output, less work per call."""
        for module in self.modules():
            if parametrize.is_parametrized(module, "weight"):
                parametrize.remove_parametrizations(module, "weight", leave_parametrized=True)


class HiFiGANVocoder:
    """Inference wrapper: weight norm removed, eval mode, on `device`, no autograd."""

    def __init__(self, generator: Generator, device: torch.device) -> None:
        generator.remove_weight_norm()
        self.generator = generator.to(device).eval()
        self.device = device
        self.sample_rate = generator.config.sampling_rate
        self.hop_length = generator.config.hop_size
        self.n_mels = generator.config.num_mels

    @torch.inference_mode()
    def __call__(self, log_mel: torch.Tensor) -> torch.Tensor:
        """Raw log-mel (B, n_mels, T) -> waveform (B, T * hop_length) on the CPU."""
        mel = check_mel(log_mel, self.n_mels).to(self.device, torch.float32)
        wav = self.generator(mel).squeeze(1)
        return wav[:, : mel.shape[-1] * self.hop_length].float().cpu()


def read_generator_state(path: Path) -> dict[str, torch.Tensor]:
    """The `generator` state dict of an original-format checkpoint, loaded weights-only."""
    checkpoint = load_weights_only(
        path, "vocoder checkpoint", hint=". Re-save it as {'generator': generator.state_dict()}."
    )
    if not isinstance(checkpoint, dict) or "generator" not in checkpoint:
        keys = (sorted(checkpoint, key=str)[:10] if isinstance(checkpoint, dict)  # mixed types
                else type(checkpoint).__name__)
        raise UserInputError(
            f"vocoder checkpoint {path} is not in the HiFi-GAN format: expected a dict with key "
            f"'generator', got {keys}"
        )
    state = checkpoint["generator"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise UserInputError(f"vocoder checkpoint {path}: 'generator' is not a state dict of tensors")
    return state


def from_files(checkpoint: Path, config_path: Path, config: dict[str, Any],
               device: torch.device) -> HiFiGANVocoder:
    """The vocoder of an original-format (or fairseq) checkpoint and its config JSON."""
    with torch.device("meta"):  # no random init of weights that the checkpoint replaces
        generator = Generator(HiFiGANConfig.from_dict(config), weight_norm=False)
    try:
        generator.load_state_dict(
            fold_weight_norm(read_generator_state(checkpoint)), strict=True, assign=True
        )
    except RuntimeError as error:
        raise UserInputError(
            f"vocoder checkpoint {checkpoint} does not match its config {config_path}: {error}"
        ) from error
    return HiFiGANVocoder(generator, device)
