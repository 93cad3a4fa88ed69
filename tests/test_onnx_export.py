"""ONNX export: the exported graphs give PyTorch's mel for the same start noise (energy + gd,
velocity + euler; K = 0, 1, 2; a one-word and a long text), the runtime needs no torch, and
samplers a fixed graph cannot run are refused by name."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from tts_ebm import samplers
from tts_ebm.cli import main
from tts_ebm.errors import UserInputError
from tts_ebm.export.onnx_export import export_steps, export_voice
from tts_ebm.model import AcousticModel, ModelConfig
from tts_ebm.onnx_runtime import OnnxVoice
from tts_ebm.synthesis import Synthesizer
from tts_ebm.text import SymbolTable, text_to_ids
from tts_ebm.training.checkpoint import load_for_inference, make_payload
from tts_ebm.training.config import ExperimentConfig

ONE_WORD = "Hello."
LONG = ("The birch canoe slid on the smooth planks, and the boy glued the sheet to the dark "
        "blue background while it was still easy to tell the depth of a well. These days a "
        "chicken leg is a rare dish; rice is often served in round bowls, and the juice of "
        "lemons makes fine punch. The box was thrown beside the parked truck, the hogs were fed "
        "chopped corn and garbage, and four hours of steady work faced us before the stars.")
TOLERANCE = 1e-3  # max abs difference in raw log-mel
KS = (0, 1, 2)


def _pitched(tiny_checkpoint, path: Path, field: str, sampler: str) -> Path:
    """A tiny model with a prior decoder, a U-Net frame network and a frame-level pitch/energy
    adaptor (the `tiny_checkpoint` fixture's two training steps)."""
    return tiny_checkpoint(path, (ONE_WORD, "Glue the sheet to it."),
                           model={"field": field, "variance_level": "frame"},
                           sampler={"name": sampler, "options": {"steps": 2, "temperature": 0.7}},
                           lr=1e-2)


@pytest.fixture(scope="module", params=[("energy", "gd"), ("velocity", "euler")],
                ids=["energy-gd", "velocity-euler"])
def voices(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
           tiny_checkpoint) -> tuple[Path, dict[int, Path]]:
    """(checkpoint, {K: voice folder}): the whole export at K = 2, steps.onnx alone for the
    other K (prior.onnx and voice.json do not depend on K)."""
    field, sampler = request.param
    root = tmp_path_factory.mktemp(field)
    checkpoint = _pitched(tiny_checkpoint, root / "tiny.ckpt", field, sampler)
    folders = {2: root / "K2"}
    export_voice(checkpoint, 2, folders[2], vocoder=None)
    bundle = load_for_inference(checkpoint)
    for k in KS:
        if k in folders:
            continue
        folders[k] = root / f"K{k}"
        folders[k].mkdir()
        for name in ("prior.onnx", "voice.json"):
            shutil.copy(folders[2] / name, folders[k] / name)
        export_steps(bundle, samplers.build(sampler, steps=k), folders[k] / "steps.onnx")
    return checkpoint, folders


def _torch_mel(checkpoint: Path, ids: list[int], steps: int, seed: int) -> tuple[np.ndarray,
                                                                                 np.ndarray]:
    """(raw log-mel (80, T), the start noise ε (80, T)) of PyTorch's own generate()."""
    bundle = load_for_inference(checkpoint)
    configured = bundle.config.sampler
    sampler = samplers.build(configured.name, **{**configured.options, "steps": steps})
    tokens = torch.tensor([ids])
    out = bundle.model.generate(tokens, torch.tensor([len(ids)]), sampler,
                                generator=torch.Generator().manual_seed(seed))
    eps = torch.randn(out.mel.shape, generator=torch.Generator().manual_seed(seed))
    mel = out.mel * bundle.mel_std.view(1, -1, 1) + bundle.mel_mean.view(1, -1, 1)
    return mel[0].numpy(), eps[0].numpy()


@pytest.mark.parametrize("text", [ONE_WORD, LONG], ids=["one-word", "long"])
@pytest.mark.parametrize("steps", KS)
def test_onnx_mel_matches_pytorch(voices: tuple[Path, dict[int, Path]], steps: int,
                                  text: str) -> None:
    checkpoint, folders = voices
    voice = OnnxVoice(folders[steps])
    ids = text_to_ids(text, voice.symbols, voice.language)
    expected, eps = _torch_mel(checkpoint, ids, steps, seed=3)
    mel = voice.mel(ids, eps, temperature=0.7)
    assert mel.shape == expected.shape
    difference = float(np.abs(mel - expected).max())
    print(f"K={steps} {len(text)} chars, {mel.shape[-1]} frames: max |Δ| {difference:.2e}")
    assert difference < TOLERANCE
    assert np.abs(mel - voice.mel(ids, eps, temperature=0.7)).max() == 0  # deterministic
    if steps:  # the steps moved the start sample: more than the start itself is compared
        start = OnnxVoice(folders[0]).mel(ids, eps, temperature=0.7)
        assert np.abs(mel - start).max() > 10 * TOLERANCE


def test_voice_json_names_what_the_runtime_needs(voices: tuple[Path, dict[int, Path]]) -> None:
    _, folders = voices
    voice = json.loads((folders[2] / "voice.json").read_text())
    assert voice["steps"] == 2 and voice["sampler"]["options"]["steps"] == 2
    assert voice["sample_rate"] == 22050 and voice["hop_length"] == 256
    assert voice["frame_multiple"] == 2 and len(voice["mel_mean"]) == 80
    assert voice["symbols"] == SymbolTable.default().to_dict()


@pytest.mark.parametrize("name, options, message", [
    ("langevin", {}, "'langevin' sampler cannot be exported.*adds noise at every step"),
    ("gd", {"tol": 0.1}, "'gd' sampler cannot be exported.*tol 0.1"),
    ("gd", {"n_candidates": 2}, "'gd' sampler cannot be exported.*n_candidates 2"),
])
def test_unexportable_samplers_are_refused_by_name(tmp_path: Path, name: str,
                                                   options: dict, message: str) -> None:
    torch.manual_seed(0)
    config = ExperimentConfig.from_dict({"model": {"preset": "tiny"},
                                         "sampler": {"name": name, "options": options}})
    model = AcousticModel(ModelConfig.from_dict(config.model), len(SymbolTable.default()))
    payload = make_payload(config, SymbolTable.default(), [0.0] * 80, [1.0] * 80,
                           model.state_dict())
    torch.save({"tts_ebm": payload, "state_dict": {}}, tmp_path / "x.ckpt")
    with pytest.raises(UserInputError, match=message):
        export_voice(tmp_path / "x.ckpt", 2, tmp_path / "out", vocoder=None)
    assert not (tmp_path / "out").exists()


NO_TORCH = """
import sys
sys.modules["torch"] = None  # any import of torch now fails
from tts_ebm.onnx_runtime import OnnxVoice
voice = OnnxVoice(sys.argv[1])
wav = voice.synthesize("Hello there. How are you?", seed=0)
again = voice.synthesize("Hello there. How are you?", seed=0)
assert wav.dtype.name == "float32" and len(wav) > 0 and (wav == again).all()
assert len(wav) % voice.hop_length == 0 and abs(wav).max() <= 1.0
import numpy as np
pieces = list(voice.stream("Hello there. How are you?", seed=0, chunk_frames=8))
assert len(pieces) > 3 and np.abs(np.concatenate(pieces) - wav).max() < 1e-4
from tts_ebm.cli import main  # the command line's ONNX path, in the same torch-free process
out = sys.argv[2]
assert main(["synthesize", "--onnx", sys.argv[1], "--text", "Hello there.", "--seed", "0",
             "--out", out + "/hello.wav"]) == 0
assert main(["synthesize", "--onnx", sys.argv[1], "--text", "Hi.", "--steps", "2",
             "--out", out + "/no.wav"]) == 2  # exported with K = 1: refused, nothing written
assert not any(name == "torch" or name.startswith("torch.") for name in sys.modules
               if sys.modules[name] is not None)
print(len(wav))
"""


def test_runtime_synthesises_without_torch(tmp_path: Path, tiny_checkpoint) -> None:
    """The whole voice, exported by the CLI with the packaged HiFi-GAN, in a process where
    torch cannot be imported."""
    checkpoint = _pitched(tiny_checkpoint, tmp_path / "tiny.ckpt", "energy", "gd")
    assert main(["export-onnx", "--checkpoint", str(checkpoint), "--steps", "1",
                 "--vocoder", "hifigan-lj", "--out", str(tmp_path / "voice")]) == 0
    assert {p.name for p in (tmp_path / "voice").iterdir()} == {
        "prior.onnx", "steps.onnx", "vocoder.onnx", "voice.json"}
    done = subprocess.run([sys.executable, "-c", NO_TORCH, str(tmp_path / "voice"),
                           str(tmp_path)], check=False, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert int(done.stdout.split()[-1]) > 0
    assert "exported with K = 1; export it again with --steps 2" in done.stderr
    assert (tmp_path / "hello.wav").stat().st_size > 1000 and not (tmp_path / "no.wav").exists()
    from_onnx = Synthesizer.from_onnx(tmp_path / "voice", threads=1)
    from_onnx.to_file("Hello there.", tmp_path / "again.wav", seed=0)  # the CLI's seed
    assert (tmp_path / "again.wav").read_bytes() == (tmp_path / "hello.wav").read_bytes()


def test_cli_refuses_bad_input_without_a_traceback(tmp_path: Path, capsys) -> None:
    base = ["export-onnx", "--out", str(tmp_path / "out")]
    assert main([*base, "--checkpoint", str(tmp_path / "missing.ckpt"), "--steps", "1"]) == 2
    assert "missing.ckpt" in capsys.readouterr().err
    assert main([*base, "--checkpoint", str(tmp_path / "missing.ckpt"), "--steps", "-1"]) == 2
    assert "--steps must be >= 0" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
