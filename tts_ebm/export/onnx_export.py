"""A checkpoint and a HiFi-GAN as an ONNX voice folder, for `tts_ebm.onnx_runtime`.

DIR/prior.onnx    tokens (1, N) int64, length_scale () -> mu (1, 80, T) standardised,
                  durations (1, N) int64
DIR/steps.onnx    mu, noise, mask (1, 80 | 1, T), temperature () -> mel (1, 80, T) raw log-mel:
                  the checkpoint's sampler unrolled for K steps from mu + tau * noise
DIR/vocoder.onnx  mel (1, 80, T) raw log-mel -> wav (1, T * hop)
DIR/voice.json    symbols, language, mel statistics, sampler, K, sample rate, hop, frame multiple

Why two acoustic graphs: the frame count T follows from the predicted durations. Split at μ,
the noise is drawn once T is known, exactly T frames, so a seed gives the noise PyTorch's
sampler would be handed, and `steps.onnx` sees T as an ordinary dynamic length (one graph with a
data-dependent T inside could not be exported: the frame network's down-sampling needs a
known length). T must be a multiple of `frame_multiple` (2^frame_levels) in `steps.onnx`; the
runtime pads μ and the noise with masked zero frames, as the frame network itself does.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

import vocoder as vocoders
from data_prep.features import MEL
from tts_ebm import samplers
from tts_ebm.errors import UserInputError
from tts_ebm.export.graph import PriorGraph, StepsGraph, check_exportable
from tts_ebm.export.trace import export_onnx
from tts_ebm.io import atomic_write_text
from tts_ebm.training.checkpoint import InferenceBundle, load_for_inference
from vocoder.hifigan import HiFiGANVocoder

FORMAT = 1  # voice.json "format": bumped when the files' inputs or outputs change
EXAMPLE_TOKENS = 7  # lengths of the example inputs traced (any; the graphs take all lengths)
EXAMPLE_BLOCKS = 5
MAX_DIM = 1 << 20


def export_voice(checkpoint: str | Path, steps: int, out_dir: str | Path,
                 vocoder: str | None = "hifigan-lj") -> Path:
    """Write the voice folder `out_dir` (see the module docstring) for `steps` sampler steps of
    the checkpoint's sampler; `checkpoint` is what `load_for_inference` takes (a path, a
    shipped voice's name, hf:...); `vocoder` None skips vocoder.onnx. Returns voice.json."""
    bundle = load_for_inference(checkpoint, device="cpu")
    config = bundle.config.sampler
    sampler = samplers.build(config.name, **{**config.options, "steps": steps})
    check_exportable(sampler, config.name)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    export_prior(bundle, out / "prior.onnx")
    export_steps(bundle, sampler, out / "steps.onnx")
    sample_rate, hop = MEL.sample_rate, MEL.hop_length
    if vocoder is not None:
        sample_rate, hop = export_vocoder(vocoder, out / "vocoder.onnx")
    voice = {
        "format": FORMAT,
        "checkpoint": str(checkpoint),
        "language": bundle.language,
        "symbols": bundle.symbols.to_dict(),
        "mel_mean": bundle.mel_mean.tolist(),
        "mel_std": bundle.mel_std.tolist(),
        "field": bundle.model.config.field,
        "sampler": {"name": config.name, "options": {**config.options, "steps": steps}},
        "steps": steps,
        "temperature": sampler.temperature,
        "frame_multiple": 2 ** bundle.model.config.frame_levels,
        "sample_rate": sample_rate,
        "hop_length": hop,
        "vocoder": vocoder,
    }
    path = out / "voice.json"
    atomic_write_text(path, json.dumps(voice, indent=1) + "\n")
    return path


def export_prior(bundle: InferenceBundle, path: Path) -> Path:
    """prior.onnx: the text encoder, durations and μ (with the variance adaptor, if any)."""
    tokens = torch.randint(1, len(bundle.symbols), (1, EXAMPLE_TOKENS))
    args = (tokens, torch.tensor(1.0))
    dims: Any = ({1: torch.export.Dim("tokens", min=1, max=MAX_DIM)}, None)
    with torch.no_grad():
        return export_onnx(PriorGraph(bundle.model).eval(), args, dims, path,
                           input_names=["tokens", "length_scale"],
                           output_names=["mu", "durations"])


def export_steps(bundle: InferenceBundle, sampler: samplers.Sampler, path: Path) -> Path:
    """steps.onnx: K sampler steps; an energy's ∇ₓE is traced into the graph."""
    model = bundle.model
    multiple = 2 ** model.config.frame_levels
    frames = multiple * EXAMPLE_BLOCKS
    mu = torch.randn(1, model.config.n_mels, frames)
    args = (mu, torch.randn_like(mu), torch.ones(1, 1, frames), torch.tensor(1.0))
    blocks = torch.export.Dim("blocks", min=1, max=MAX_DIM // multiple)
    time_axis = {2: multiple * blocks}
    graph = StepsGraph(model, sampler, bundle.mel_mean, bundle.mel_std).eval()
    return export_onnx(graph, args, (time_axis, time_axis, time_axis, None), path,
                       input_names=["mu", "noise", "mask", "temperature"],
                       output_names=["mel"], gradients=sampler.steps > 0 and
                       model.field.has_energy)


def export_vocoder(spec: str, path: Path) -> tuple[int, int]:
    """vocoder.onnx from a HiFi-GAN spec (e.g. hifigan-lj); (sample rate, hop length)."""
    loaded = vocoders.load(spec, device="cpu")
    if not isinstance(loaded, HiFiGANVocoder):
        raise UserInputError(f"vocoder {spec!r} is not a HiFi-GAN: only HiFi-GAN generators are "
                             "exported to ONNX")
    mel = torch.full((1, loaded.n_mels, 16), -5.0)
    dims = ({2: torch.export.Dim("frames", min=1, max=MAX_DIM)},)
    with torch.no_grad():
        export_onnx(loaded.generator, (mel,), dims, path, input_names=["mel"],
                    output_names=["wav"])
    return loaded.sample_rate, loaded.hop_length
