"""The acoustic model against values computed by hand: losses, segments, generation, layers,
encoder, energy heads, configs (the model group's mutation survivors, docs/mutation.md)."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from model_helpers import energy_network
from torch import nn

from tts_ebm.errors import UserInputError
from tts_ebm.model import AcousticModel, ModelConfig
from tts_ebm.model.alignment import (
    expand,
    gather_frames,
    gaussian_log_likelihood,
    random_segments,
    sequence_mask,
)
from tts_ebm.model.encoder import ConvPrenet, EncoderOutput, TextEncoder, sinusoidal_positions
from tts_ebm.networks.frame import FrameNetwork, ResConvBlock, TimeEmbedding
from tts_ebm.networks.layers import MaskedSelfAttention, TransformerBlock

N_MELS = 80
DURATIONS = [[2, 3, 1], [4, 2, 0]]  # frames per token; utterance 1 has two tokens
LOG_D_PRED = [[0.0, 1.0, 0.5], [1.0, 1.0, 9.0]]  # 9.0 sits on a padded token: must not count
OFFSET = 0.25  # every valid mel frame is its token mean + OFFSET (in every bin)


class FixedEncoder(nn.Module):
    """Stands in for the text encoder: token means far apart, so MAS finds DURATIONS."""

    def forward(self, tokens: torch.Tensor, lengths: torch.Tensor):
        mask = (torch.arange(tokens.shape[1])[None] < lengths[:, None]).float().unsqueeze(1)
        mu = torch.stack([torch.full((N_MELS,), 10.0 * (t + 1)) for t in range(3)], 1)
        mu = mu.unsqueeze(0).repeat(len(tokens), 1, 1) * mask
        return EncoderOutput(mu, torch.tensor(LOG_D_PRED).unsqueeze(1) * mask, mask, mu)


def zero_criterion(energy_fn, x, mu, mask, negatives=None):
    return x.sum() * 0.0, {}


@pytest.mark.parametrize("weights", [(1.0, 1.0), (0.5, 3.0)])
def test_duration_and_prior_losses_match_hand_values(weights):
    prior_weight, duration_weight = weights
    config = ModelConfig.tiny(decoder_layers=0)  # mu = the expanded token means
    config.prior_weight, config.duration_weight = prior_weight, duration_weight
    model = AcousticModel(config, n_symbols=10)
    model.encoder = FixedEncoder()
    tokens = torch.tensor([[1, 2, 3], [1, 2, 0]])
    token_lengths = torch.tensor([3, 2])
    mel_lengths = torch.tensor([6, 6])
    mels = torch.full((2, N_MELS, 7), 123.0)  # frame 6 is padding for both: ignored
    for b, row in enumerate(DURATIONS):
        start = 0
        for t, d in enumerate(row):
            mels[b, :, start:start + d] = 10.0 * (t + 1) + OFFSET
            start += d

    loss, logs = model.training_step_losses(tokens, token_lengths, mels, mel_lengths,
                                            zero_criterion)

    # duration: MSE of predicted log d against log of the MAS durations, valid tokens only
    squared = [(LOG_D_PRED[b][t] - math.log(DURATIONS[b][t])) ** 2
               for b, n in enumerate([3, 2]) for t in range(n)]
    duration = sum(squared) / len(squared)
    # prior: Gaussian NLL per valid (frame, bin): 0.5 * (offset^2 + log 2 pi)
    prior = 0.5 * (OFFSET**2 + math.log(2 * math.pi))
    assert logs["duration"].item() == pytest.approx(duration, rel=1e-5)
    assert logs["prior"].item() == pytest.approx(prior, rel=1e-5)
    assert logs["criterion"].item() == 0.0
    assert loss.item() == pytest.approx(prior_weight * prior + duration_weight * duration,
                                        rel=1e-5)


# --- issue 14: mutation survivors of the model group (docs/mutation.md) ----------------------

SMALL = {"n_mels": 4, "encoder_channels": 8, "encoder_filter_channels": 8,
         "frame_channels": 8, "frame_filter_channels": 8, "duration_channels": 8,
         "frame_levels": 0}  # the flat stack, written out by hand below


def randomise(module: nn.Module, seed: int = 0) -> nn.Module:
    """Every parameter random (zero-initialised projections would hide a dropped branch)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(0.3 * torch.randn(p.shape, generator=gen))
    return module


def fixed_model(**overrides) -> AcousticModel:
    config = ModelConfig.tiny(**{"decoder_layers": 0, **overrides})  # mu: the token means
    model = AcousticModel(config, n_symbols=10)
    model.encoder = FixedEncoder()
    return model


def fixed_batch():
    tokens = torch.tensor([[1, 2, 3], [1, 2, 0]])
    mels = torch.zeros(2, N_MELS, 7)
    return tokens, torch.tensor([3, 2]), mels, torch.tensor([6, 6])


def test_random_segments_draw_every_window_with_equal_probability():
    """Offset = floor(u * (max_offset + 1)), u from the global RNG: catches u / n, n - 1, n + 2
    (a never-drawn last window, or one drawn twice as often)."""
    lengths = torch.tensor([13, 10, 4, 11] * 500)  # window 10: max offsets 3, 0, 0, 1
    torch.manual_seed(0)
    u = torch.rand(len(lengths))
    torch.manual_seed(0)
    index, valid = random_segments(lengths, 10)
    offsets = (u * ((lengths - 10).clamp(min=0) + 1)).floor().long()
    assert torch.equal(index, offsets[:, None] + torch.arange(10))
    assert torch.equal(valid, (index < lengths[:, None]).unsqueeze(1))
    assert valid[2].sum() == 4  # a 4-frame utterance: its 4 frames, the rest padding
    share = torch.bincount(index[0::4, 0], minlength=4).float() / 500
    assert share.tolist() == pytest.approx([0.25] * 4, abs=0.06)


def test_gather_frames_reaches_the_last_frame():
    """A window ending on the last frame gets that frame (catches a clamp at T - 2)."""
    x = torch.arange(2 * 3 * 6, dtype=torch.float32).view(2, 3, 6)
    index = torch.tensor([[4, 5], [0, 9]])  # 9: past the end, clamped to the last frame
    out = gather_frames(x, index)
    assert torch.equal(out[0], x[0, :, 4:6])
    assert torch.equal(out[1], torch.stack([x[1, :, 0], x[1, :, 5]], -1))


def test_criterion_gets_a_float_mask_and_none_without_negatives():
    """The criterion's mask is the mels' float dtype and negatives stay None (catches a bool
    mask, which breaks `1 - mask`, and an empty-string stand-in for None)."""
    model = fixed_model()
    seen = {}

    def capture(field, x, mu, mask, negatives=None):
        seen.update(mask=mask, negatives=negatives)
        return x.sum() * 0.0, {}

    tokens, token_lengths, mels, mel_lengths = fixed_batch()
    model.training_step_losses(tokens, token_lengths, mels, mel_lengths, capture)
    assert seen["mask"].dtype == torch.float32
    assert seen["mask"].sum().item() == 12.0  # 6 valid frames each in a 32-frame window
    assert seen["negatives"] is None


def test_negatives_with_the_wrong_batch_size_are_rejected():
    """Every shape check counts on its own (catches `and` for `or`) and the message names the
    expected (B, K, n_mels, T) (catches T printed for n_mels)."""
    model = fixed_model()
    tokens, token_lengths, mels, mel_lengths = fixed_batch()
    for bad in (torch.zeros(3, 2, N_MELS, 7), torch.zeros(2, N_MELS, 7)):
        with pytest.raises(ValueError, match=r"negatives must be \(B, K, 80, 7\) like mels"):
            model.training_step_losses(tokens, token_lengths, mels, mel_lengths,
                                       zero_criterion, negatives=bad)


class RecordingSampler:
    """Returns ones and records what it was given."""

    def __init__(self) -> None:
        self.seen = {}

    def sample(self, field, mu, mask, generator=None):
        self.seen.update(mask=mask, generator=generator)
        return torch.ones_like(mu), "trace"


def test_generate_durations_mu_mask_and_generator():
    """Default length_scale 1 gives ceil(exp(log d)) (catches a default of 2); mu repeats each
    token mean over its frames; the mask is float; the caller's generator reaches the sampler
    (catches seeded synthesis that is not reproducible)."""
    model = fixed_model()
    tokens, token_lengths, _, _ = fixed_batch()
    sampler, gen = RecordingSampler(), torch.Generator().manual_seed(0)
    out = model.generate(tokens, token_lengths, sampler, generator=gen)
    # exp([0, 1, 0.5]) = [1, 2.72, 1.65]; exp([1, 1]) = [2.72, 2.72]; padded token 0 frames
    assert out.durations.tolist() == [[1, 3, 2], [3, 3, 0]]
    assert out.mu[0, 0].tolist() == [10.0, 20.0, 20.0, 20.0, 30.0, 30.0]
    assert out.mu[1, 0].tolist() == [10.0, 10.0, 10.0, 20.0, 20.0, 20.0]
    assert out.mask.dtype == torch.float32 and sampler.seen["mask"].dtype == torch.float32
    assert out.mel[0, 0].tolist() == [1.0] * 6 and out.trace == "trace"
    assert sampler.seen["generator"] is gen
    assert model.generate(tokens, token_lengths, sampler, length_scale=2.0).durations.tolist() \
        == [[2, 6, 4], [6, 6, 0]]


def test_energy_method_is_the_field_energy():
    """model.energy (used by the training module's logs) is E(x, mu, mask), which starts at
    1/2 ||x - mu||^2 over valid frames; the model records its vocabulary size."""
    torch.manual_seed(0)
    model = AcousticModel(ModelConfig.tiny(**SMALL), n_symbols=12)
    x, mu = torch.randn(2, 4, 5), torch.randn(2, 4, 5)
    mask = sequence_mask(torch.tensor([5, 3]), 5).unsqueeze(1).float()
    expected = 0.5 * (((x - mu) * mask) ** 2).sum((1, 2))
    assert torch.allclose(model.energy(x, mu, mask), expected, rtol=1e-5)
    assert model.n_symbols == 12


def test_old_checkpoints_with_energy_net_keys_load():
    """Weights saved under `energy_net.` (before fields existed) load into field.network, also
    inside a parent module (catches the load hook not registered or ignoring the prefix)."""
    torch.manual_seed(0)
    source = nn.Module()
    source.model = randomise(AcousticModel(ModelConfig.tiny(**SMALL), n_symbols=12))
    old = {k.replace("model.field.network.", "model.energy_net."): v
           for k, v in source.state_dict().items()}
    assert any(k.startswith("model.energy_net.") for k in old)
    target = nn.Module()
    target.model = AcousticModel(ModelConfig.tiny(**SMALL), n_symbols=12)
    target.load_state_dict(old)  # strict: every key must find its parameter
    for key, value in source.state_dict().items():
        assert torch.equal(target.state_dict()[key], value), key
    plain = AcousticModel(ModelConfig.tiny(**SMALL), n_symbols=12)
    plain.load_state_dict({k[len("model."):]: v for k, v in old.items()})
    assert torch.equal(plain.field.network.inp.weight, source.model.field.network.inp.weight)


# --- configs -----------------------------------------------------------------------------------

def test_config_accepts_ones_and_names_the_bad_value():
    """1 is a valid size (one head, one block: catches `<= 1` / `< 2`); 0 is refused with the
    field's name and value."""
    cfg = ModelConfig.tiny(encoder_heads=1, frame_heads=1, frame_depth=1, encoder_layers=1,
                           n_mels=1, segment_frames=1, frame_levels=0)
    assert (cfg.encoder_heads, cfg.frame_depth, cfg.segment_frames) == (1, 1, 1)
    with pytest.raises(UserInputError, match=r"^model\.frame_depth must be >= 1, got 0$"):
        ModelConfig.tiny(frame_depth=0)


def test_config_rejects_even_kernels_with_a_message():
    """Kernels must be odd for 'same' padding (catches `/ 2 == 0`, which lets 4 through)."""
    with pytest.raises(UserInputError,
                       match=r"^model\.frame_kernel must be odd \('same' padding\), got 4$"):
        ModelConfig.tiny(frame_kernel=4)
    assert ModelConfig.tiny(frame_kernel=5).frame_kernel == 5


def test_config_preset_messages_and_overrides():
    """Unknown preset / key messages list the valid choices; ljspeech() keeps overrides."""
    with pytest.raises(UserInputError, match=r"^model\.preset must be one of "
                       r"\['tiny', 'small', 'base', 'ljspeech'\], got 'huge'$"):
        ModelConfig.preset("huge")
    assert ModelConfig.ljspeech(n_mels=40).n_mels == 40
    assert ModelConfig.ljspeech().frame_channels == 256
    with pytest.raises(UserInputError, match=r"valid keys: n_mels, encoder_channels, "):
        ModelConfig.from_dict({"nmels": 80})


# --- layers ------------------------------------------------------------------------------------

def reference_attention(attn: MaskedSelfAttention, x, mask):
    """softmax(q_h^T k_h / sqrt(d)) over valid keys, per head, written out."""
    b, c, t = x.shape
    d = c // attn.heads
    q, k, v = attn.qkv(x).split(c, dim=1)
    y = torch.zeros(b, c, t)
    for i in range(b):
        valid = mask[i, 0] > 0
        for h in range(attn.heads):
            ch = slice(h * d, (h + 1) * d)
            scores = q[i, ch].T @ k[i, ch] / math.sqrt(d)  # (T query, T key)
            scores[:, ~valid] = -math.inf
            y[i, ch] = v[i, ch] @ torch.softmax(scores, -1).T
    return attn.out(y)


def test_attention_matches_scaled_softmax_over_valid_keys():
    """Scores are divided by sqrt(d_head) (catches multiplying) and padded keys get no weight."""
    attn = randomise(MaskedSelfAttention(8, 2))
    x = torch.randn(2, 8, 5, generator=torch.Generator().manual_seed(1))
    mask = sequence_mask(torch.tensor([5, 3]), 5).unsqueeze(1).float()
    with torch.no_grad():
        assert torch.allclose(attn(x, mask), reference_attention(attn, x, mask), atol=1e-5)


def test_transformer_block_adds_its_residual_branches():
    """x + attn(norm1 x), then + ffn(norm2 x), masked (catches a subtracted branch, which
    changes every trained checkpoint's output)."""
    block = randomise(TransformerBlock(8, 8, 2, 3, nn.GELU))
    x = torch.randn(2, 8, 5, generator=torch.Generator().manual_seed(1))
    mask = sequence_mask(torch.tensor([5, 3]), 5).unsqueeze(1).float()
    with torch.no_grad():
        h = x + reference_attention(block.attn, block.norm1(x), mask)
        h = h + block.ffn.conv2(F.gelu(block.ffn.conv1(block.norm2(h) * mask)) * mask)
        assert torch.allclose(block(x, mask), h * mask, atol=1e-5)


def test_energy_network_has_no_dropout():
    """The energy is deterministic in train mode, equal to eval mode (catches a dropout default
    of 1 in the transformer blocks, which the energy network does not set)."""
    net = randomise(energy_network(ModelConfig.tiny(**SMALL)))
    x, mu = torch.randn(2, 4, 6), torch.randn(2, 4, 6)
    mask = sequence_mask(torch.tensor([6, 4]), 6).unsqueeze(1).float()
    with torch.no_grad():
        train = net.train()(x, mu, mask)
        assert torch.equal(train, net.eval()(x, mu, mask))


def test_encoder_blocks_use_the_configured_dropout():
    """encoder_dropout reaches the attention and feed-forward of every encoder block."""
    encoder = TextEncoder(10, ModelConfig.tiny(**SMALL, encoder_dropout=0.3))
    for block in encoder.blocks:
        assert [m.p for m in block.modules() if isinstance(m, nn.Dropout)] == [0.3] * 3


def test_kernel_five_keeps_every_length():
    """Odd kernels other than 3 pad by kernel // 2 (catches kernel // 3, equal only at 3)."""
    torch.manual_seed(0)
    cfg = ModelConfig.tiny(**SMALL, encoder_kernel=5, duration_kernel=5, frame_kernel=5)
    mu_ph, log_d, _, _ = TextEncoder(10, cfg)(torch.tensor([[1, 2, 3, 4, 5, 6, 7]]),
                                                 torch.tensor([7]))
    assert mu_ph.shape[-1] == log_d.shape[-1] == 7
    net = randomise(energy_network(cfg))
    assert net.frames(torch.randn(1, 4, 9), torch.randn(1, 4, 9), torch.ones(1, 1, 9)).shape \
        == (1, 4, 9)


def test_res_conv_block_adds_its_branch():
    """(x + conv2(silu(conv1(norm x)))) * mask (catches a subtracted branch)."""
    block = randomise(ResConvBlock(8, 3))
    x = torch.randn(2, 8, 5, generator=torch.Generator().manual_seed(1))
    mask = sequence_mask(torch.tensor([5, 3]), 5).unsqueeze(1).float()
    with torch.no_grad():
        h = F.silu(block.conv1(block.norm(x) * mask))
        assert torch.allclose(block(x, mask), (x + block.conv2(h * mask)) * mask, atol=1e-6)


# --- text encoder ------------------------------------------------------------------------------

def test_prenet_runs_every_conv_layer_and_adds_the_projection():
    """x + proj(relu(norm(conv ...))) over all layers (catches lost layers or norms, which make
    the prenet a plain projection, and a subtracted projection)."""
    prenet = randomise(ConvPrenet(8, 5, 2, 0.0))
    x = torch.randn(2, 8, 6, generator=torch.Generator().manual_seed(1))
    mask = sequence_mask(torch.tensor([6, 4]), 6).unsqueeze(1).float()
    with torch.no_grad():
        h = x
        for conv, norm in zip(prenet.layers, prenet.norms):
            h = torch.relu(norm(conv(h * mask)))
        assert len(prenet.layers) == len(prenet.norms) == 2
        assert torch.allclose(prenet(x, mask), (x + prenet.proj(h)) * mask, atol=1e-6)


@pytest.mark.parametrize("channels", [6, 5])
def test_sinusoidal_positions_by_hand(channels):
    """pe[2i, p] = sin(p / 10000^(2i/C)), pe[2i+1, p] = cos(same angle)."""
    pe = sinusoidal_positions(7, channels, torch.device("cpu"))
    expected = torch.zeros(1, channels, 7)
    for p in range(7):
        for c in range(channels):
            angle = p / 10000 ** (2 * (c // 2) / channels)
            expected[0, c, p] = math.sin(angle) if c % 2 == 0 else math.cos(angle)
    assert pe.dtype == torch.float32
    assert torch.allclose(pe, expected, atol=1e-5)
    # far positions magnify the frequencies: 10000^(-1/2) exactly (catches log 10001)
    angles = torch.arange(400, dtype=torch.float64) * 10000**-0.5
    assert torch.allclose(sinusoidal_positions(400, 4, torch.device("cpu"))[0, 2:].double(),
                          torch.stack([angles.sin(), angles.cos()]), atol=2e-5)


def test_embedding_starts_with_unit_scale_inputs():
    """Embeddings ~ N(0, 1/C), scaled by sqrt(C) in forward: unit-scale encoder inputs
    (catches a mean of 1 or c^-0.5 and a std of 1, sqrt(C) or C^-1.5)."""
    torch.manual_seed(0)
    encoder = TextEncoder(200, ModelConfig.tiny())  # 200 x 32 weights
    weight = encoder.embedding.weight.detach()
    assert abs(weight.mean().item()) < 0.01
    assert weight.std().item() == pytest.approx(32**-0.5, rel=0.05)


def test_encoder_forward_by_hand_and_real_symbols_learn():
    """Embedding * sqrt(C) + positions through prenet, blocks, norm and heads (catches / for *
    and - for +); symbol 1's embedding gets a gradient, padding id 0's does not (catches
    padding_idx=1); a batch padded past its longest utterance works; the mask is float."""
    torch.manual_seed(0)
    encoder = randomise(TextEncoder(10, ModelConfig.tiny(**SMALL)))
    tokens = torch.tensor([[1, 2, 3, 1, 0, 0], [4, 1, 0, 0, 0, 0]])  # padded to 6, longest 4
    lengths = torch.tensor([4, 2])
    mu, log_d, mask, _ = encoder(tokens, lengths)
    assert mask.dtype == torch.float32 and mask.squeeze(1).tolist() == \
        sequence_mask(lengths, 6).float().tolist()
    with torch.no_grad():
        x = encoder.embedding(tokens).transpose(1, 2) * math.sqrt(8)
        x = (encoder.prenet(x, mask) + sinusoidal_positions(6, 8, torch.device("cpu"))) * mask
        for block in encoder.blocks:
            x = block(x, mask)
        x = encoder.norm(x) * mask
        assert torch.allclose(mu, encoder.proj_mu(x) * mask, atol=1e-5)
        assert torch.allclose(log_d, encoder.duration(x, mask), atol=1e-5)
    mu.sum().backward()
    grad = encoder.embedding.weight.grad
    assert grad[1].abs().sum() > 0 and (grad[0] == 0).all()


# --- energy network and the time-conditional backbone -----------------------------------------

def test_quadratic_and_scalar_heads():
    """quadratic: f = mu + g with one output per mel bin; scalar: one value per frame, summed
    (catches a head mixed up or sized wrong, and mu - g)."""
    x, mu = torch.randn(2, 4, 6), torch.randn(2, 4, 6)
    mask = sequence_mask(torch.tensor([6, 4]), 6).unsqueeze(1).float()
    quad = randomise(energy_network(ModelConfig.tiny(**SMALL)))
    scalar = randomise(energy_network(ModelConfig.tiny(**SMALL, energy_head="scalar")))
    with torch.no_grad():
        g = quad.frames(x, mu, mask)
        assert g.shape[1] == 4 and not torch.allclose(g[:, 0], g[:, 1])
        assert torch.allclose(quad.features(x, mu, mask), mu * mask + g)
        h = scalar.features(x, mu, mask)
        assert h.shape[1] == 1 and torch.equal(h, scalar.frames(x, mu, mask))
        assert torch.allclose(scalar(x, mu, mask), (h * mask).sum((1, 2)))


def test_time_conditional_energy_uses_t():
    """A timed energy adds its own projection of the embedding of each utterance's t before
    every conv block, zero on padded frames; a scalar t serves the batch; no t is an error
    (catches t dropped anywhere on its way to the backbone)."""
    cfg = ModelConfig.tiny(**SMALL)
    net = randomise(energy_network(cfg, time_conditional=True))
    x, mu = torch.randn(2, 4, 6), torch.randn(2, 4, 6)
    mask = sequence_mask(torch.tensor([6, 4]), 6).unsqueeze(1).float()
    t = torch.tensor([0.2, 0.7])
    with torch.no_grad():
        h = net.inp(torch.cat([x, mu], 1) * mask) * mask
        time = net.time(t)
        for block in net.blocks:
            if isinstance(block, ResConvBlock):
                h = (h + block.time(time)[:, :, None]) * mask
                inner = block.act(block.conv1(block.norm(h) * mask))
                h = (h + block.conv2(inner * mask)) * mask
            else:
                h = block(h, mask)
        g = net.out(net.act(net.norm(h)) * mask) * mask
        assert torch.allclose(net.frames(x, mu, mask, t), g, atol=1e-5)
        energy = net(x, mu, mask, t)
        assert torch.allclose(energy, 0.5 * (((x - mu * mask - g) * mask) ** 2).sum((1, 2)))
        assert not torch.allclose(energy, net(x, mu, mask, torch.tensor([0.9, 0.1])))
        assert torch.allclose(net(x, mu, mask, torch.tensor(0.2))[0], energy[0])
    with pytest.raises(ValueError, match=r"^this network is time-conditional: pass t \(B,\)$"):
        net(x, mu, mask)
    plain = FrameNetwork(cfg.frame_network(), 3)  # time-free unless asked
    assert plain.time is None and plain.frames(x, mu, mask).shape == (2, 3, 6)


@pytest.mark.parametrize("channels", [6, 5])
def test_time_embedding_by_hand(channels):
    """sin and cos of 1000 t * 10000^(-i/half), a zero pad for odd C, then Linear -> SiLU ->
    Linear (catches a lost MLP layer); float64 t keeps float64."""
    emb = randomise(TimeEmbedding(channels))
    t = torch.tensor([0.0, 0.001, 0.5])
    half = channels // 2
    rows = []
    for value in t.tolist():
        angles = [1000 * value * math.exp(-math.log(10000.0) * i / half) for i in range(half)]
        rows.append([math.sin(a) for a in angles] + [math.cos(a) for a in angles]
                    + [0.0] * (channels % 2))
    first, last = emb.mlp[0], emb.mlp[2]
    with torch.no_grad():
        expected = last(F.silu(first(torch.tensor(rows))))
        assert len(emb.mlp) == 3
        assert torch.allclose(emb(t), expected, atol=1e-4)
        assert emb.double()(t.double()).dtype == torch.float64


# --- alignment helpers -------------------------------------------------------------------------

def test_sequence_mask_defaults_to_the_longest_length():
    """Without max_length the mask is as long as the longest utterance."""
    assert sequence_mask(torch.tensor([2, 4, 1])).int().tolist() == \
        [[1, 1, 0, 0], [1, 1, 1, 1], [1, 0, 0, 0]]


def test_gaussian_log_likelihood_is_the_normal_log_density():
    """log N(y_t; mu_l, I) summed over D (all terms, not only those that move MAS's path)."""
    gen = torch.Generator().manual_seed(0)
    mu, y = torch.randn(2, 3, 4, generator=gen), torch.randn(2, 3, 5, generator=gen)
    expected = torch.distributions.Normal(mu[:, :, :, None], 1.0).log_prob(y[:, :, None, :])
    assert torch.allclose(gaussian_log_likelihood(mu, y), expected.sum(1), atol=1e-5)


def test_expand_casts_the_path_to_the_features_dtype():
    """A float64 model expands with a float32 path (catches the cast dropped)."""
    h = torch.randn(1, 2, 3, dtype=torch.float64)
    path = torch.tensor([[[1.0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]])
    out = expand(h, path)
    assert out.dtype == torch.float64
    assert torch.equal(out, torch.stack([h[..., 0], h[..., 0], h[..., 1], h[..., 2]], -1))
