"""The energy-based acoustic model: text encoder + durations + prior over frames + field."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import torch
from torch import Tensor, nn

from tts_ebm import fields
from tts_ebm.errors import UserInputError
from tts_ebm.model.alignment import (
    expand,
    gather_frames,
    monotonic_alignment,
    path_from_durations,
    random_segments,
    sequence_mask,
)
from tts_ebm.model.config import ModelConfig
from tts_ebm.model.encoder import EncoderOutput, TextEncoder
from tts_ebm.model.prior import PriorDecoder
from tts_ebm.model.variance import (
    AS_PREDICTED,
    VarianceAdaptor,
    VarianceControls,
    VarianceOutput,
)

MAX_TOKEN_FRAMES = 200
Criterion = Callable[..., tuple[Tensor, dict[str, Tensor]]]


class Sampler(Protocol):
    def sample(self, field: fields.Field, mu: Tensor, mask: Tensor,
               generator: torch.Generator | None = None) -> tuple[Tensor, Any]: ...


@dataclass
class FramePrior:
    """The prior over frames of a batch: what the field is conditioned on, and how it was made."""

    mu: Tensor           # (B, n_mels, T) frame-level mean, the field's condition
    mu_blocks: Tensor    # (B, n_mels, T) expand(mu_ph): piecewise constant, what MAS aligns
    mask: Tensor         # (B, 1, T) float 0/1
    durations: Tensor    # (B, L) frames per token (long at inference, float 0/1 sums in training)
    encoded: EncoderOutput
    variance: VarianceOutput | None = None  # the pitch (and energy) embedded, with a variance
                                            # adaptor; its loss and terms in training


@dataclass
class GenerateOutput:
    """Result of `AcousticModel.generate`; mel is standardised, zero on padded frames."""

    mel: Tensor        # (B, n_mels, T')
    mask: Tensor       # (B, 1, T') float 0/1
    mu: Tensor         # (B, n_mels, T') expanded encoder means
    durations: Tensor  # (B, L) long frames per token, 0 on padded tokens
    trace: Any         # the sampler's Trace


class AcousticModel(nn.Module):
    """Text -> mu (via MAS durations in training, predicted durations at inference) -> field.

    The field (`config.field`: an energy, or the velocity of the flow-matching peer) is what
    the criterion trains and the sampler follows; the rest of the model does not depend on it.
    mu over frames is the expanded per-token means, plus the prior decoder's transitions when
    `decoder_layers` > 0 (tts_ebm/model/prior.py). Training loss = criterion(field on a random
    segment) + prior_weight * (prior NLL of the expanded means [+ that of the decoded mu])
    + duration_weight * duration MSE. The energy sees mu detached unless
    `criterion_grad_to_encoder` (Grad-TTS lets its diffusion loss shape mu); MAS has no grad.
    """

    def __init__(self, config: ModelConfig, n_symbols: int) -> None:
        super().__init__()
        self.config = config
        self.n_symbols = n_symbols
        self.encoder = TextEncoder(n_symbols, config)
        self.decoder = (
            PriorDecoder(config.encoder_channels, config.decoder_channels, config.n_mels,
                         config.decoder_layers, config.decoder_kernel)
            if config.decoder_layers else None
        )
        self.variance = (
            VarianceAdaptor(config.encoder_channels, config.variance_channels,
                            config.variance_level, config.variance_embedding,
                            config.variance_energy)
            if config.variance_level != "none" else None
        )
        self.field = fields.build(config.field, config.frame_network(), config.energy_head)
        self._register_load_state_dict_pre_hook(_rename_energy_net)

    def energy(self, x: Tensor, mu: Tensor, mask: Tensor) -> Tensor:
        """E(x, mu, mask) -> (B,): x, mu (B, n_mels, T), mask (B, 1, T); energy fields only."""
        return self.field(x, mu, mask)

    def frame_prior(self, encoded: EncoderOutput, path: Tensor, mask: Tensor,
                    variance_target: Tensor | None = None,
                    controls: VarianceControls = AS_PREDICTED,
                    variance_window: tuple[Tensor, Tensor] | None = None) -> FramePrior:
        """mu over frames along an alignment path (B, L, T): the expanded per-token means, plus
        the prior decoder's transitions when there is one, decoded from the text states and,
        with a variance adaptor, the pitch (the recordings' `variance_target` in training, the
        predicted one, under `controls`, at inference)."""
        mu_blocks = expand(encoded.mu, path) * mask
        mu, variance = mu_blocks, None
        if self.decoder is not None:
            states = expand(encoded.hidden, path)
            if self.variance is not None:
                variance = self.variance(encoded.hidden, states, encoded.mask, path, mask,
                                         variance_target, controls, variance_window)
                states = states + variance.embedded
            mu = mu_blocks + self.decoder(states, mask)
        return FramePrior(mu=mu, mu_blocks=mu_blocks, mask=mask, durations=path.sum(-1),
                          encoded=encoded, variance=variance)

    def align(self, tokens: Tensor, token_lengths: Tensor, mels: Tensor,
              mel_lengths: Tensor, log_f0: Tensor | None = None) -> FramePrior:
        """The prior of recorded mels (B, n_mels, T) standardised: encoder, MAS durations (no
        grad), expansion and decoding (with the recordings' pitch, ln F0 (B, T), when the model
        has a variance adaptor). Gradients reach the encoder and decoder."""
        encoded = self.encoder(tokens, token_lengths)
        frame_mask = sequence_mask(mel_lengths, mels.shape[-1]).unsqueeze(1).to(mels.dtype)
        path = monotonic_alignment(encoded.mu.detach(), mels * frame_mask, encoded.mask,
                                   frame_mask)  # (B, L, T)
        if self.variance is None:
            return self.frame_prior(encoded, path, frame_mask)
        target = self.variance.targets(log_f0, mels) * frame_mask
        window = (random_segments(mel_lengths, self.config.variance_window)
                  if self.config.variance_window else None)
        return self.frame_prior(encoded, path, frame_mask, target, variance_window=window)

    def training_step_losses(
        self,
        tokens: Tensor,
        token_lengths: Tensor,
        mels: Tensor,
        mel_lengths: Tensor,
        criterion: Criterion,
        negatives: Tensor | None = None,
        log_f0: Tensor | None = None,
    ) -> tuple[Tensor, dict[str, Tensor]]:
        """Total loss and detached logs (loss, criterion, prior, duration, criterion/<term>,
        variance/<name> with a variance adaptor).

        mels (B, n_mels, T) standardised; negatives (B, K, n_mels, T) on the same frame axis
        as mels (cut with the same window); log_f0 (B, T) ln F0 of the recordings, interpolated
        over unvoiced frames (needed by a model with a variance adaptor).
        """
        cfg = self.config
        prior = self.align(tokens, token_lengths, mels, mel_lengths, log_f0)
        frame_mask, token_mask = prior.mask, prior.encoded.mask
        mels = mels * frame_mask
        # MSE on log d (Grad-TTS/Matcha); every valid token has d >= 1 after MAS.
        target = torch.log(prior.durations.clamp(min=1)).unsqueeze(1) * token_mask
        duration_loss = ((prior.encoded.log_durations - target) ** 2 * token_mask).sum() \
            / token_mask.sum()

        def nll(mu: Tensor) -> Tensor:
            """Gaussian NLL of the target mel under N(mu, I) per valid element."""
            per_element = 0.5 * ((mels - mu) ** 2 + math.log(2 * math.pi))
            return (per_element * frame_mask).sum() / (frame_mask.sum() * cfg.n_mels)

        prior_loss = nll(prior.mu_blocks)
        prior_frames_loss = nll(prior.mu) if self.decoder is not None else None
        mu = prior.mu

        index, valid = random_segments(mel_lengths, cfg.segment_frames)
        mask_seg = valid.to(mels.dtype)
        x_seg = gather_frames(mels, index) * mask_seg
        mu_seg = gather_frames(mu if cfg.criterion_grad_to_encoder else mu.detach(), index)
        mu_seg = mu_seg * mask_seg
        neg_seg = None
        if negatives is not None:
            if negatives.dim() != 4 or negatives.shape[0] != mels.shape[0] \
                    or negatives.shape[2:] != mels.shape[1:]:
                raise ValueError(f"negatives must be (B, K, {mels.shape[1]}, {mels.shape[2]}) "
                                 f"like mels, got {tuple(negatives.shape)}")
            neg_seg = gather_frames(negatives, index) * mask_seg.unsqueeze(1)

        crit_loss, crit_logs = criterion(self.field, x_seg, mu_seg, mask_seg, negatives=neg_seg)
        total_prior = prior_loss if prior_frames_loss is None else prior_loss + prior_frames_loss
        loss = crit_loss + cfg.prior_weight * total_prior + cfg.duration_weight * duration_loss
        if prior.variance is not None:
            loss = loss + cfg.variance_weight * prior.variance.loss
        logs = {
            "loss": loss.detach(),
            "criterion": crit_loss.detach(),
            "prior": prior_loss.detach(),
            "duration": duration_loss.detach(),
        }
        if prior_frames_loss is not None:
            logs["prior_frames"] = prior_frames_loss.detach()
        if prior.variance is not None:
            logs.update({f"variance/{k}": v.detach() for k, v in prior.variance.terms.items()})
        logs.update({f"criterion/{k}": torch.as_tensor(v).detach() for k, v in crit_logs.items()})
        return loss, logs

    def generate(
        self,
        tokens: Tensor,
        token_lengths: Tensor,
        sampler: Sampler,
        length_scale: float = 1.0,
        generator: torch.Generator | None = None,
        prosody: VarianceControls = AS_PREDICTED,
    ) -> GenerateOutput:
        """Predict durations (and pitch), expand mu, and let the sampler follow the field from
        mu + noise; `prosody` shifts and scales the predicted pitch."""
        if not length_scale > 0:
            raise UserInputError(f"length_scale must be > 0, got {length_scale}")
        if self.variance is None and not prosody.is_default:
            raise UserInputError("this checkpoint has no pitch predictor (model.variance_level "
                                 "is none): pitch shift and pitch range do not apply")
        with torch.no_grad():
            encoded = self.encoder(tokens, token_lengths)
            # cap at MAX_TOKEN_FRAMES (2.3 s) before length_scale: an untrained or diverged
            # duration predictor must not ask for millions of frames
            frames = torch.exp(encoded.log_durations).clamp(max=MAX_TOKEN_FRAMES)
            durations = torch.ceil(frames * length_scale).clamp(min=1)
            durations = (durations * encoded.mask).squeeze(1).long()
            mel_lengths = durations.sum(1)
            n_frames = int(mel_lengths.max())
            mask = sequence_mask(mel_lengths, n_frames).unsqueeze(1).to(encoded.mu.dtype)
            mu = self.frame_prior(encoded, path_from_durations(durations, n_frames), mask,
                                  controls=prosody).mu
        # The sampler needs grad w.r.t. x even if the caller runs under no_grad; mu is
        # detached, so no graph reaches the encoder.
        with torch.enable_grad():
            x, trace = sampler.sample(self.field, mu, mask, generator=generator)
        return GenerateOutput(mel=x.detach() * mask, mask=mask, mu=mu, durations=durations,
                              trace=trace)


def _rename_energy_net(state_dict: dict[str, Tensor], prefix: str, *args: Any) -> None:
    """Checkpoints written before fields existed keep their energy weights under `energy_net.`."""
    old = prefix + "energy_net."
    for key in [k for k in state_dict if k.startswith(old)]:
        state_dict[prefix + "field.network." + key[len(old):]] = state_dict.pop(key)
