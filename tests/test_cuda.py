"""On a CUDA GPU: bf16-mixed training of every criterion, then synthesis on the device.

What the CPU suite cannot see: bf16 autocast through the criteria (ssm's double backward
included), tensors created on the wrong device, the vocoder's batched CUDA path. Marked `cuda`:
skipped without a CUDA device (tests/conftest.py); scripts/gpu_check.sh runs them.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from test_training import PHRASES, LossRecorder, make_config, make_dump

from tts_ebm import Synthesizer, criteria, samplers
from tts_ebm.training.checkpoint import load_for_inference
from tts_ebm.training.train import train
from vocoder.hifigan import Generator, HiFiGANConfig, HiFiGANVocoder

pytestmark = pytest.mark.cuda
STEPS = 4  # the last one validates: synthesis and media on the device too


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[dict, list[float], Path]]:
    """criterion -> (train summary, losses, run folder) of a short tiny-preset run on CUDA."""
    dump = make_dump(tmp_path_factory.mktemp("dump"))
    done = {}
    for criterion in criteria.names():
        config = make_config(dump, criterion, max_steps=STEPS, val_every=STEPS,
                             accelerator="gpu")
        if criterion == "fm":  # the flow-matching peer: a velocity field, Euler steps
            config.model["field"] = "velocity"
            config.sampler.name = "euler"
        out, recorder = tmp_path_factory.mktemp(criterion), LossRecorder()
        done[criterion] = (train(config, out, progress=False, callbacks=[recorder]),
                           recorder.losses, out)
    return done


@pytest.mark.parametrize("criterion", criteria.names())
def test_bf16_mixed_training_steps_are_finite(runs, criterion: str) -> None:
    summary, losses, _ = runs[criterion]
    assert (summary["accelerator"], summary["precision"]) == ("gpu", "bf16-mixed")
    assert summary["steps"] == STEPS and summary["nonfinite_steps"] == 0
    assert len(losses) == STEPS and np.isfinite(losses).all()
    assert summary["final_val"] and all(np.isfinite(list(summary["final_val"].values())))


@pytest.mark.parametrize("criterion", criteria.names())
def test_checkpoint_generates_on_the_device(runs, criterion: str) -> None:
    bundle = load_for_inference(runs[criterion][2] / "checkpoints" / "last.ckpt", device="cuda")
    assert all(p.is_cuda for p in bundle.model.parameters())
    tokens = torch.tensor([bundle.symbols.encode(p) for p in PHRASES[:1]], device="cuda")
    sampler = samplers.build(bundle.config.sampler.name, steps=2)
    out = bundle.model.generate(tokens, torch.tensor([tokens.shape[1]], device="cuda"), sampler,
                                generator=torch.Generator("cuda").manual_seed(0))
    assert out.mel.is_cuda and out.mel.shape[1] == 80 and torch.isfinite(out.mel).all()


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="the text front end needs espeak-ng")
def test_synthesizer_vocodes_a_batch_on_the_device(runs) -> None:
    torch.manual_seed(0)
    hifigan = HiFiGANVocoder(Generator(HiFiGANConfig.v1()), torch.device("cuda"))
    synth = Synthesizer(runs["delta"][2] / "checkpoints" / "last.ckpt", vocoder=hifigan,
                        device="cuda")
    waves = synth.synthesize(["Hello there.", "A second, longer sentence to pad."], steps=2,
                             seed=0)
    assert len(waves) == 2 and 0 < len(waves[0]) < len(waves[1])
    assert all(len(w) % 256 == 0 and np.isfinite(w).all() for w in waves)
