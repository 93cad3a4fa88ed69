"""The U-Net frame network, the prior decoder, AcousticModel.align and the renamed config keys."""

from __future__ import annotations

import pytest
import torch

from tts_ebm.errors import UserInputError
from tts_ebm.model import AcousticModel, ModelConfig
from tts_ebm.model.alignment import sequence_mask
from tts_ebm.networks.frame import FrameNetConfig, FrameNetwork
from tts_ebm.training.config import _resolve_model

NET = FrameNetConfig(n_mels=4, channels=8, filter_channels=16, heads=2, depth=1, kernel=3,
                     levels=2)


def randomised(net: FrameNetwork) -> FrameNetwork:
    torch.manual_seed(0)
    for p in net.parameters():
        torch.nn.init.normal_(p, std=0.3)
    return net


@pytest.mark.parametrize("n_frames", [1, 5, 8, 13])
def test_unet_keeps_every_length_and_ignores_padded_values(n_frames):
    """Lengths that are no multiple of 2^levels come back whole; what stands on padded frames
    changes nothing on valid ones, also through the down-sampled levels."""
    net = randomised(FrameNetwork(NET, 3, time_conditional=True))
    x, mu = torch.randn(2, 4, n_frames), torch.randn(2, 4, n_frames)
    mask = sequence_mask(torch.tensor([n_frames, max(1, n_frames // 2)]), n_frames)
    mask = mask.unsqueeze(1).float()
    t = torch.tensor([0.3, 0.8])
    out = net.frames(x, mu, mask, t)
    assert out.shape == (2, 3, n_frames)
    noisy = net.frames(x + 50 * (1 - mask), mu - 50 * (1 - mask), mask, t)
    assert torch.allclose(out, noisy, atol=1e-5)
    assert torch.all(out * (1 - mask) == 0)


def test_unet_output_does_not_depend_on_batch_padding():
    """An utterance alone gives what it gives inside a longer padded batch."""
    net = randomised(FrameNetwork(NET, 3))
    x, mu = torch.randn(1, 4, 11), torch.randn(1, 4, 11)
    alone = net.frames(x, mu, torch.ones(1, 1, 11))
    padded = net.frames(torch.nn.functional.pad(x, (0, 9)), torch.nn.functional.pad(mu, (0, 9)),
                        torch.nn.functional.pad(torch.ones(1, 1, 11), (0, 9)))
    assert torch.allclose(alone, padded[..., :11], atol=1e-5)


def test_unet_sees_further_than_the_flat_stack():
    """A change at frame 0 reaches frames a flat stack of the same depth cannot see."""
    def reach(levels: int) -> int:
        net = randomised(FrameNetwork(FrameNetConfig(**{**NET.__dict__, "levels": levels}), 1))
        net.blocks = net.blocks[:1]  # conv only: attention would see everything
        x, mu, mask = torch.zeros(1, 4, 64), torch.zeros(1, 4, 64), torch.ones(1, 1, 64)
        x2 = x.clone()
        x2[0, :, 0] = 1.0
        changed = (net.frames(x2, mu, mask) - net.frames(x, mu, mask)).abs()[0, 0] > 1e-7
        return int(changed.nonzero().max())
    assert reach(2) > 2 * reach(0)


def test_levels_need_segments_that_halve():
    with pytest.raises(UserInputError, match=r"segment_frames \(30\) must be a multiple of "
                                             r"2\^frame_levels \(4\)"):
        ModelConfig.tiny(frame_levels=2, segment_frames=30)
    with pytest.raises(UserInputError, match=r"model\.decoder_layers must be >= 0"):
        ModelConfig.tiny(decoder_layers=-1)


def test_configs_written_before_the_rename_still_load():
    """energy_* keys of older checkpoints and YAMLs are read as frame_*."""
    old = {**ModelConfig.tiny().to_dict()}
    for new in ("frame_channels", "frame_depth"):
        old[new.replace("frame_", "energy_")] = old.pop(new)
    old["energy_channels"] = 24
    assert ModelConfig.from_dict(old).frame_channels == 24
    assert _resolve_model({"preset": "tiny", "energy_depth": 3})["frame_depth"] == 3


def batch(model_config: ModelConfig):
    torch.manual_seed(0)
    tokens = torch.tensor([[1, 2, 3, 4], [2, 3, 0, 0]])
    lengths = torch.tensor([4, 2])
    mels = torch.randn(2, model_config.n_mels, 32)
    mel_lengths = torch.tensor([32, 20])
    return tokens, lengths, mels, mel_lengths


def zero_criterion(field, x, mu, mask, negatives=None):
    return (x * mu).sum() * 0.0, {}


def test_align_gives_durations_that_cover_each_utterance():
    config = ModelConfig.tiny()
    model = AcousticModel(config, n_symbols=8)
    tokens, lengths, mels, mel_lengths = batch(config)
    prior = model.align(tokens, lengths, mels, mel_lengths)
    assert prior.durations.sum(1).tolist() == [32, 20]
    assert torch.equal(prior.mask[:, 0].sum(1), mel_lengths.float())
    assert torch.equal(prior.mu, prior.mu_blocks)  # no decoder: piecewise constant
    assert torch.all(prior.mu[1, :, 20:] == 0)


def test_prior_decoder_starts_at_the_blocks_and_learns_transitions():
    """Zero-initialised: mu = expand(mu_ph) at first; its own prior loss trains it, and a few
    steps on a target with a ramp inside each block move mu off the blocks."""
    config = ModelConfig.tiny(decoder_layers=1, decoder_channels=16)
    model = AcousticModel(config, n_symbols=8)
    tokens, lengths, mels, mel_lengths = batch(config)
    prior = model.align(tokens, lengths, mels, mel_lengths)
    assert torch.equal(prior.mu, prior.mu_blocks)
    _, logs = model.training_step_losses(tokens, lengths, mels, mel_lengths, zero_criterion)
    assert "prior_frames" in logs and float(logs["prior_frames"]) == pytest.approx(
        float(logs["prior"]))
    ramp = torch.linspace(-2, 2, 32).expand(2, config.n_mels, 32).clone()
    optimizer = torch.optim.Adam(model.decoder.parameters(), lr=1e-2)
    for _ in range(30):
        loss, logs = model.training_step_losses(tokens, lengths, ramp, mel_lengths,
                                                zero_criterion)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert float(logs["prior_frames"]) < float(logs["prior"]) - 0.1
    prior = model.align(tokens, lengths, ramp, mel_lengths)
    assert not torch.allclose(prior.mu, prior.mu_blocks)
    assert torch.all(prior.mu[1, :, 20:] == 0)


def test_unet_forward_by_hand():
    """Down (block, skip, halve mask, strided conv), the middle blocks at the coarsest rate, up
    (nearest x2, conv, add the skip of the same level, block), written out for two levels on a
    padded batch (catches a lost skip, a missing mask on any level, levels in the wrong order)."""
    net = randomised(FrameNetwork(NET, 3))
    x, mu = torch.randn(2, 4, 12), torch.randn(2, 4, 12)
    mask = sequence_mask(torch.tensor([12, 7]), 12).unsqueeze(1).float()
    pool = torch.nn.functional.max_pool1d
    with torch.no_grad():
        h = net.inp(torch.cat([x, mu], 1) * mask) * mask
        h1 = net.down[0](h, mask)
        m1 = pool(mask, 2)
        h2 = net.down[1](net.downsample[0](h1) * m1, m1)
        m2 = pool(m1, 2)
        h = net.downsample[1](h2) * m2
        for block in net.blocks:
            h = block(h, m2)
        up = torch.nn.functional.interpolate
        h = net.up[0]((net.upsample[0](up(h, scale_factor=2.0)) + h2) * m1, m1)
        h = net.up[1]((net.upsample[1](up(h, scale_factor=2.0)) + h1) * mask, mask)
        expected = net.out(net.act(net.norm(h)) * mask) * mask
        assert torch.allclose(net.frames(x, mu, mask), expected, atol=1e-5)


def test_fields_and_networks_never_import_the_model():
    """One direction only: model -> fields -> networks (a cycle made every change touch all)."""
    import ast
    from pathlib import Path

    import tts_ebm

    root = Path(tts_ebm.__file__).parent
    for package, forbidden in (("fields", ("tts_ebm.model",)),
                               ("networks", ("tts_ebm.model", "tts_ebm.fields"))):
        for path in (root / package).glob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                names = ([node.module or ""] if isinstance(node, ast.ImportFrom)
                         else [a.name for a in node.names] if isinstance(node, ast.Import)
                         else [])
                assert not [n for n in names if n.startswith(forbidden)], (path, names)
