"""Pinned vocoder behaviour (issue 14): the presets are the published HiFi-GAN configs, config
keys and defaults, weight-norm folding, every checkpoint/config/spec error word for word, the
requested device reaching the tensors, the default -> packaged fallback and its messages, pinned
Hub revisions, the Hub probe (a server on 127.0.0.1 only, never the network) and the settings
Griffin-Lim passes to librosa and torchaudio. Configs are built inside the tests (not at import)
so that mutation testing sees every call."""

from __future__ import annotations

import http.server
import json
import locale
import logging
import re
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import huggingface_hub.constants
import librosa
import numpy as np
import pytest
import torch
import torchaudio
from conftest import OFFLINE_ENDPOINT, point_hub_client_at

import vocoder
from tts_ebm.errors import UserInputError
from vocoder import loading
from vocoder.checks import check_mel
from vocoder.device import resolve_device
from vocoder.griffin_lim import GriffinLimVocoder
from vocoder.hifigan import (
    Generator,
    HiFiGANConfig,
    HiFiGANVocoder,
    fold_weight_norm,
    read_generator_state,
)
from vocoder.loading import hub_reachable, local_files, package_file, read_config_json
from vocoder.spec import parse_spec

# the generator keys of jik876/hifi-gan config_v1.json, config_v2.json, config_v3.json
PUBLISHED = {
    "v1": {"resblock": "1", "upsample_rates": [8, 8, 2, 2], "upsample_kernel_sizes": [16, 16, 4, 4],
           "upsample_initial_channel": 512, "resblock_kernel_sizes": [3, 7, 11],
           "resblock_dilation_sizes": [[1, 3, 5], [1, 3, 5], [1, 3, 5]]},
    "v2": {"resblock": "1", "upsample_rates": [8, 8, 2, 2], "upsample_kernel_sizes": [16, 16, 4, 4],
           "upsample_initial_channel": 128, "resblock_kernel_sizes": [3, 7, 11],
           "resblock_dilation_sizes": [[1, 3, 5], [1, 3, 5], [1, 3, 5]]},
    "v3": {"resblock": "2", "upsample_rates": [8, 8, 4], "upsample_kernel_sizes": [16, 16, 8],
           "upsample_initial_channel": 256, "resblock_kernel_sizes": [3, 5, 7],
           "resblock_dilation_sizes": [[1, 2], [2, 6], [3, 12]]},
}
# a V3-shaped generator with 32 channels and one resblock: hop 256, saved and loaded in ms
TINY = {"resblock": "2", "upsample_rates": [8, 8, 4], "upsample_kernel_sizes": [16, 16, 8],
        "upsample_initial_channel": 32, "resblock_kernel_sizes": [3],
        "resblock_dilation_sizes": [[1, 2]], "num_mels": 80, "sampling_rate": 22050}
COMMIT_A = "a" * 40
COMMIT_B = "b" * 40


def _exact(message: str) -> str:
    return f"^{re.escape(message)}$"


def _save_tiny(path: Path, seed: int = 0) -> Path:
    torch.manual_seed(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"generator": Generator(HiFiGANConfig.from_dict(TINY)).state_dict()}, path)
    return path


def _tiny_config(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps(TINY))
    return path


def _cache_snapshot(cache: Path, repo_id: str, commit: str, files: dict[str, bytes],
                    main: bool = True) -> None:
    """Lay out a Hub cache snapshot as huggingface_hub does; `main` makes it refs/main."""
    repo = cache / f"models--{repo_id.replace('/', '--')}"
    snapshot = repo / "snapshots" / commit
    snapshot.mkdir(parents=True)
    for name, data in files.items():
        (snapshot / name).write_bytes(data)
    if main:
        (repo / "refs").mkdir()
        (repo / "refs" / "main").write_text(commit)


def _tiny_files(tmp_path: Path, seed: int, config_name: str | None = "hifigan.json") -> dict[str, bytes]:
    files = {"hifigan.bin": _save_tiny(tmp_path / f"src{seed}" / "hifigan.bin", seed).read_bytes()}
    if config_name:
        files[config_name] = json.dumps(TINY).encode()
    return files


# --- the presets and config JSON ---------------------------------------------------------------


@pytest.mark.parametrize("version", ["v1", "v2", "v3"])
def test_presets_are_the_published_hifigan_configs(version: str) -> None:
    preset = getattr(HiFiGANConfig, version)()
    published = PUBLISHED[version]
    assert preset.resblock == published["resblock"]
    assert preset.upsample_rates == tuple(published["upsample_rates"])
    assert preset.upsample_kernel_sizes == tuple(published["upsample_kernel_sizes"])
    assert preset.upsample_initial_channel == published["upsample_initial_channel"]
    assert preset.resblock_kernel_sizes == tuple(published["resblock_kernel_sizes"])
    assert preset.resblock_dilation_sizes == tuple(map(tuple, published["resblock_dilation_sizes"]))
    assert (preset.num_mels, preset.sampling_rate, preset.hop_size) == (80, 22050, 256)
    assert preset == HiFiGANConfig.from_dict(published)


def test_v1_preset_equals_the_config_json_shipped_with_the_packaged_generators() -> None:
    folder = package_file(parse_spec("hifigan-lj")).parent
    assert HiFiGANConfig.from_dict(read_config_json(folder / "config.json")) == HiFiGANConfig.v1()


def test_from_dict_defaults_and_optional_keys() -> None:
    required = dict(PUBLISHED["v3"])
    config = HiFiGANConfig.from_dict(required)
    assert (config.num_mels, config.sampling_rate, config.hop_size) == (80, 22050, 256)
    config = HiFiGANConfig.from_dict(required | {"num_mels": 100, "sampling_rate": 24000, "hop_size": 256})
    assert (config.num_mels, config.sampling_rate, config.hop_size) == (100, 24000, 256)
    assert HiFiGANConfig.from_dict(required | {"model_in_dim": 128}).num_mels == 128  # fairseq key
    assert HiFiGANConfig.from_dict(required | {"model_in_dim": 128, "num_mels": 64}).num_mels == 64
    # JSON numbers written as floats or strings are read as the integers they denote
    config = HiFiGANConfig.from_dict(required | {"upsample_rates": [8.0, "8", 4], "resblock": 2})
    assert config.upsample_rates == (8, 8, 4) and config.resblock == "2"


@pytest.mark.parametrize(("change", "message"), [
    ({"resblock": None, "upsample_rates": None},
     "HiFi-GAN config lacks the keys ['resblock', 'upsample_rates']"),
    ({"hop_size": 300},
     "HiFi-GAN config: hop_size 300 differs from the product of upsample_rates [8, 8, 4] = 256"),
    ({"resblock": "3"}, "HiFi-GAN config: resblock must be '1' or '2', got '3'"),
    ({"upsample_kernel_sizes": [16, 16]},
     "HiFi-GAN config: upsample_rates and upsample_kernel_sizes differ in length"),
    ({"resblock_kernel_sizes": [3, 5]},
     "HiFi-GAN config: resblock_kernel_sizes and resblock_dilation_sizes differ in length"),
    ({"upsample_rates": [8, "x", 4]},
     "HiFi-GAN config has a malformed value: invalid literal for int() with base 10: 'x'"),
    ({"num_mels": None},
     ("HiFi-GAN config has a malformed value: int() argument must be a string, a bytes-like "
      "object or a real number, not 'NoneType'")),
])
def test_from_dict_rejects_bad_configs_with_the_reason(change: dict, message: str) -> None:
    data = {k: v for k, v in (PUBLISHED["v3"] | change).items()
            if v is not None or k not in PUBLISHED["v3"]}
    with pytest.raises(UserInputError, match=_exact(message)):
        HiFiGANConfig.from_dict(data)


def test_read_config_errors_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    with pytest.raises(UserInputError, match=_exact(
            f"cannot read vocoder config {path}: [Errno 2] No such file or directory: '{path}'")):
        read_config_json(path)
    path.write_text("{not json")
    with pytest.raises(UserInputError, match=_exact(
            f"cannot read vocoder config {path}: Expecting property name enclosed in double "
            "quotes: line 1 column 2 (char 1)")):
        read_config_json(path)
    path.write_text("[1, 2]")
    with pytest.raises(UserInputError, match=_exact(f"vocoder config {path} is not a JSON object")):
        read_config_json(path)


@pytest.fixture
def ascii_locale() -> Iterator[None]:
    """The C locale's ASCII as the default text encoding (as a non-UTF-8 system would have)."""
    saved = locale.setlocale(locale.LC_CTYPE)
    locale.setlocale(locale.LC_CTYPE, "C")
    try:
        yield
    finally:
        locale.setlocale(locale.LC_CTYPE, saved)


def test_config_is_read_as_utf8_whatever_the_locale(tmp_path: Path, ascii_locale) -> None:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(TINY | {"comment": "Müller's naïve V3"}, ensure_ascii=False),
                    encoding="utf-8")
    assert HiFiGANConfig.from_dict(read_config_json(path)) == HiFiGANConfig.from_dict(TINY)


# --- weight norm -------------------------------------------------------------------------------


def test_fold_weight_norm_computes_g_v_over_norm_per_output_channel() -> None:
    v = torch.tensor([[[3.0, 4.0]], [[0.0, 5.0]]])  # (out=2, in=1, k=2): norms 5 and 5
    g = torch.tensor([[[2.0]], [[10.0]]])
    bias = torch.tensor([0.5, -0.5])
    folded = fold_weight_norm({"conv.weight_g": g, "conv.weight_v": v, "conv.bias": bias})
    assert set(folded) == {"conv.weight", "conv.bias"}
    assert torch.allclose(folded["conv.weight"], torch.tensor([[[1.2, 1.6]], [[0.0, 10.0]]]))
    assert folded["conv.bias"] is bias


def test_fold_weight_norm_leaves_an_unpaired_g_and_folds_the_rest() -> None:
    v, g = torch.ones(2, 1, 4), torch.full((2, 1, 1), 4.0)
    state = {"a.weight_g": g, "b.weight_g": g, "b.weight_v": v, "c.weight_v": v}
    folded = fold_weight_norm(state)
    assert set(folded) == {"a.weight_g", "b.weight", "c.weight_v"}
    assert torch.allclose(folded["b.weight"], torch.full((2, 1, 4), 2.0))
    assert set(state) == {"a.weight_g", "b.weight_g", "b.weight_v", "c.weight_v"}  # not modified


def test_folded_plain_generator_equals_the_weight_normed_one() -> None:
    torch.manual_seed(1)
    config = HiFiGANConfig.from_dict(TINY)
    normed = Generator(config)
    state = normed.state_dict()
    assert any(k.endswith(".weight_g") for k in state) and not any("parametrizations" in k for k in state)
    plain = Generator(config, weight_norm=False)
    plain.load_state_dict(fold_weight_norm(state), strict=True)
    mel = torch.randn(2, 80, 5) - 4.0
    with torch.no_grad():
        assert torch.allclose(plain(mel), normed(mel), atol=1e-6)


def _parametrized_tensors(module: torch.nn.Module) -> int:
    return len(getattr(module, "parametrizations", {}) or {})


def test_the_vocoder_removes_weight_norm_keeping_the_output() -> None:
    torch.manual_seed(2)
    normed = Generator(HiFiGANConfig.from_dict(TINY))
    mel = torch.randn(1, 80, 4) - 4.0
    with torch.no_grad():
        reference = normed(mel).squeeze(1)
    voc = HiFiGANVocoder(normed, torch.device("cpu"))
    names = [name for name, _ in voc.generator.named_parameters()]
    assert "conv_pre.weight" in names and "ups.0.weight" in names
    assert not any("parametrizations" in name for name in names)
    assert not any(_parametrized_tensors(m) for m in voc.generator.modules())
    assert torch.allclose(voc(mel), reference, atol=1e-6)


# --- mel checks --------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(80, 4), (1, 79, 4), (1, 80, 0), (1, 80, 4, 1), (2, 81, 3)])
def test_check_mel_rejects_wrong_shapes_with_the_shape(shape: tuple[int, ...]) -> None:
    with pytest.raises(UserInputError, match=_exact(
            f"vocoder input must be a log-mel of shape (batch, 80, frames>0), got {shape}")):
        check_mel(torch.zeros(shape), 80)


def test_check_mel_accepts_one_frame_and_numpy_and_rejects_non_finite() -> None:
    mel = check_mel(np.zeros((2, 80, 1), dtype=np.float32), 80)
    assert isinstance(mel, torch.Tensor) and mel.shape == (2, 80, 1)
    assert check_mel(torch.zeros(1, 100, 3), 100).shape == (1, 100, 3)
    for bad in (float("nan"), float("inf"), -float("inf")):
        mel = torch.zeros(1, 80, 3)
        mel[0, 5, 1] = bad
        with pytest.raises(UserInputError, match=_exact("vocoder input contains NaN or infinite values")):
            check_mel(mel, 80)


# --- checkpoints -------------------------------------------------------------------------------


def test_read_generator_state_returns_the_generator_tensors(tmp_path: Path) -> None:
    state = {"conv.weight": torch.randn(2, 3), "conv.bias": torch.randn(2)}
    torch.save({"generator": state, "optim": {"step": 3}}, tmp_path / "g.pt")
    read = read_generator_state(tmp_path / "g.pt")
    assert set(read) == set(state) and all(torch.equal(read[k], state[k]) for k in state)


def test_pickled_objects_are_refused_even_when_torch_is_told_to_allow_them(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "evil.pt"
    torch.save({"generator": {"w": torch.zeros(1)}, "extra": Path("x")}, path)
    message = (
        f"refusing to load vocoder checkpoint {path}: it holds Python objects beyond tensors "
        "(pathlib.PosixPath), and loading those could run arbitrary code. Re-save it as "
        "{'generator': generator.state_dict()}."
    )
    with pytest.raises(UserInputError, match=_exact(message)):
        read_generator_state(path)
    # a user's environment may ask torch to unpickle anything; an explicit weights_only holds
    monkeypatch.setenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")
    with pytest.raises(UserInputError, match=_exact(message)):
        read_generator_state(path)


@pytest.mark.parametrize(("content", "got"), [
    ({f"k{i:02d}": torch.zeros(1) for i in range(12, 0, -1)},
     "['k01', 'k02', 'k03', 'k04', 'k05', 'k06', 'k07', 'k08', 'k09', 'k10']"),
    (torch.zeros(3), "Tensor"),
    ([1, 2], "list"),
    ({0: torch.zeros(1), "model": torch.zeros(1)}, "[0, 'model']"),  # keys of mixed types
])
def test_foreign_checkpoints_name_what_they_hold(tmp_path: Path, content, got: str) -> None:
    path = tmp_path / "foreign.pt"
    torch.save(content, path)
    with pytest.raises(UserInputError, match=_exact(
            f"vocoder checkpoint {path} is not in the HiFi-GAN format: expected a dict with key "
            f"'generator', got {got}")):
        read_generator_state(path)


@pytest.mark.parametrize("generator", [[torch.zeros(1)], {"w": [1.0]}, {"w": torch.zeros(1), "n": 3}])
def test_generator_entry_must_be_a_dict_of_tensors(tmp_path: Path, generator) -> None:
    path = tmp_path / "g.pt"
    torch.save({"generator": generator}, path)
    with pytest.raises(UserInputError, match=_exact(
            f"vocoder checkpoint {path}: 'generator' is not a state dict of tensors")):
        read_generator_state(path)


def test_local_files_finds_stem_json_first_and_names_what_is_missing(tmp_path: Path) -> None:
    checkpoint = tmp_path / "g_02500000.pt"
    checkpoint.write_bytes(b"x")
    missing = tmp_path / "nowhere.json"
    with pytest.raises(FileNotFoundError, match=_exact(f"vocoder config not found: {missing}")):
        local_files(checkpoint, missing)
    with pytest.raises(FileNotFoundError, match=_exact(
            f"no config JSON beside vocoder checkpoint {checkpoint}: tried "
            "['g_02500000.json', 'config.json']; pass config= explicitly")):
        local_files(checkpoint)
    (tmp_path / "config.json").write_text("{}")
    assert local_files(checkpoint) == (checkpoint, tmp_path / "config.json")
    (tmp_path / "g_02500000.json").write_text("{}")
    assert local_files(checkpoint) == (checkpoint, tmp_path / "g_02500000.json")
    assert local_files(checkpoint, str(tmp_path / "config.json"))[1] == tmp_path / "config.json"


# --- packaged files ----------------------------------------------------------------------------


def test_missing_packages_name_the_pip_install(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(vocoder.VocoderUnavailableError, match=_exact(
            "vocoder pkg:no_such_package_tts/g.pt needs the Python package 'no_such_package_tts', "
            "which is not installed: pip install no_such_package_tts")):
        package_file(parse_spec("pkg:no_such_package_tts/g.pt"))
    with pytest.raises(vocoder.VocoderUnavailableError, match=_exact(
            "vocoder pkg:no_such_parent_tts.child/d/g.pt needs the Python package "
            "'no_such_parent_tts.child', which is not installed: pip install no_such_parent_tts.child")):
        package_file(parse_spec("pkg:no_such_parent_tts.child/d/g.pt"))


def test_namespace_package_files_are_found_in_any_of_its_folders(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = tmp_path / "one" / "tts_voc_ns_pkg", tmp_path / "two" / "tts_voc_ns_pkg"
    (second / "my voices").mkdir(parents=True)
    first.mkdir(parents=True)
    wanted = second / "my voices" / "lj v1.pt"
    wanted.write_bytes(b"weights")
    monkeypatch.syspath_prepend(str(tmp_path / "two"))
    monkeypatch.syspath_prepend(str(tmp_path / "one"))
    assert package_file(parse_spec("pkg:tts_voc_ns_pkg/my voices/lj v1.pt")) == wanted
    with pytest.raises(FileNotFoundError, match=_exact(
            "vocoder pkg:tts_voc_ns_pkg/x.pt: no file 'x.pt' in package 'tts_voc_ns_pkg' "
            f"({first}, {second})")):
        package_file(parse_spec("pkg:tts_voc_ns_pkg/x.pt"))


# --- devices -----------------------------------------------------------------------------------


def test_the_requested_device_reaches_the_tensors(tmp_path: Path) -> None:
    """The meta device (no data) shows where tensors were put without needing CUDA."""
    griffin = vocoder.load("griffin-lim", "meta")
    assert griffin.device == torch.device("meta")
    assert griffin.inverse_basis.device.type == "meta" and griffin.window.device.type == "meta"
    assert vocoder.load_or_fallback("griffin-lim", "meta").device == torch.device("meta")
    checkpoint = _save_tiny(tmp_path / "g.pt")
    (tmp_path / "g.json").write_text(json.dumps(TINY))
    hifigan = vocoder.load(str(checkpoint), "meta")
    assert hifigan.device == torch.device("meta")
    assert all(p.device.type == "meta" for p in hifigan.generator.parameters())
    cpu = vocoder.load(str(checkpoint), "cpu")
    assert cpu.device == torch.device("cpu") and cpu(torch.zeros(1, 80, 2)).shape == (1, 512)


def test_a_bad_device_fails_before_any_loading() -> None:
    for load in (vocoder.load, vocoder.load_or_fallback):
        with pytest.raises(UserInputError, match="^unknown device 'nonsense': "):
            load("griffin-lim", "nonsense")


def test_device_resolution(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device(None) == torch.device("cpu")
    assert resolve_device("cpu") == torch.device("cpu")
    with pytest.raises(UserInputError, match=_exact("device 'cuda:1' requested but CUDA is not available")):
        resolve_device("cuda:1")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)  # no tensor is made: no GPU needed
    assert resolve_device(None) == torch.device("cuda")
    assert resolve_device("cuda:1") == torch.device("cuda", 1)
    assert resolve_device(torch.device("cpu")) == torch.device("cpu")


def test_spec_errors_show_the_accepted_forms() -> None:
    with pytest.raises(UserInputError, match=_exact(
            "empty vocoder spec; use hf:OWNER/REPO/FILE[@REVISION], pkg:PACKAGE/PATH, hifigan-lj, "
            "hifigan-universal, a path, or griffin-lim")):
        parse_spec("  ")
    with pytest.raises(UserInputError, match=_exact(
            "bad vocoder spec 'hf:owner/g.bin': expected hf:OWNER/REPO/FILE[@REVISION], "
            "e.g. hf:facebook/fastspeech2-en-ljspeech/hifigan.bin")):
        parse_spec("hf:owner/g.bin")
    spec = parse_spec(" voc/g_02500000 ")
    assert (spec.kind, spec.path) == ("path", Path("voc/g_02500000"))


def test_an_explicit_config_overrides_the_packaged_or_hub_one(offline_hub: Path, tmp_path: Path) -> None:
    v1_24k = tmp_path / "v1_24k.json"
    v1_24k.write_text(json.dumps(PUBLISHED["v1"] | {"sampling_rate": 24000}))
    assert vocoder.load("hifigan-lj", "meta").sample_rate == 22050
    assert vocoder.load("hifigan-lj", "meta", config=v1_24k).sample_rate == 24000
    _cache_snapshot(offline_hub, "someone/tiny", COMMIT_A, _tiny_files(tmp_path, 0))
    tiny_16k = tmp_path / "tiny_16k.json"
    tiny_16k.write_text(json.dumps(TINY | {"sampling_rate": 16000}))
    assert vocoder.load("hf:someone/tiny/hifigan.bin", "cpu").sample_rate == 22050
    assert vocoder.load("hf:someone/tiny/hifigan.bin", "cpu", config=str(tiny_16k)).sample_rate == 16000


@pytest.mark.parametrize(("edit", "complaint"), [
    (lambda state: state | {"extra.weight": torch.zeros(1)}, 'Unexpected key(s) in state_dict: "extra.weight".'),
    (lambda state: {k: v for k, v in state.items() if k != "conv_post.bias"},
     'Missing key(s) in state_dict: "conv_post.bias".'),
])
def test_checkpoint_keys_must_match_the_config_exactly(tmp_path: Path, edit, complaint: str) -> None:
    torch.manual_seed(0)
    checkpoint, config = tmp_path / "g.pt", _tiny_config(tmp_path)
    torch.save({"generator": edit(Generator(HiFiGANConfig.from_dict(TINY)).state_dict())}, checkpoint)
    head = (f"vocoder checkpoint {checkpoint} does not match its config {config}: "
            "Error(s) in loading state_dict for Generator:")
    with pytest.raises(UserInputError, match=rf"^{re.escape(head)}\s+{re.escape(complaint)}\s*$"):
        vocoder.load(str(checkpoint), "cpu", config=config)


# --- the default vocoder and its fallback ------------------------------------------------------


def test_a_cached_default_is_used_offline_without_a_fallback_message(
        offline_hub: Path, tmp_path: Path, capsys) -> None:
    _cache_snapshot(offline_hub, "facebook/fastspeech2-en-ljspeech", COMMIT_A, _tiny_files(tmp_path, 0))
    voc = vocoder.load_or_fallback(None, "meta")
    assert isinstance(voc, HiFiGANVocoder) and voc.device == torch.device("meta")
    assert voc.generator.config == HiFiGANConfig.from_dict(TINY)
    assert capsys.readouterr().err == ""


def test_uncached_default_falls_back_to_hifigan_lj_on_the_device(
        offline_hub: Path, capsys, caplog: pytest.LogCaptureFixture) -> None:
    assert vocoder.DEFAULT_SPEC == "hf:facebook/fastspeech2-en-ljspeech/hifigan.bin"
    with caplog.at_level(logging.DEBUG, logger="vocoder"):
        voc = vocoder.load_or_fallback(None, "meta")
    assert isinstance(voc, HiFiGANVocoder) and voc.device == torch.device("meta")
    assert voc.generator.config == HiFiGANConfig.v1()
    assert capsys.readouterr().err == (
        "vocoder hf:facebook/fastspeech2-en-ljspeech/hifigan.bin is not in the Hugging Face cache "
        f"and the Hub ({OFFLINE_ENDPOINT}) cannot be reached (offline or HF_HUB_OFFLINE=1); "
        "using the packaged hifigan-lj (HiFi-GAN LJSpeech V1) instead\n"
    )
    records = [r for r in caplog.records if r.name == "vocoder"]
    assert [r.getMessage() for r in records] == ["default vocoder unavailable"]
    assert records[0].levelno == logging.DEBUG
    assert isinstance(records[0].exc_info[1], vocoder.VocoderUnavailableError)


# --- the Hub -----------------------------------------------------------------------------------


def test_uncached_hub_vocoders_name_the_spec_and_revision(offline_hub: Path) -> None:
    for suffix in ("", "@v1.0"):
        with pytest.raises(vocoder.VocoderUnavailableError, match=_exact(
                f"vocoder hf:someone/tiny/hifigan.bin{suffix} is not in the Hugging Face cache and "
                f"the Hub ({OFFLINE_ENDPOINT}) cannot be reached (offline or HF_HUB_OFFLINE=1)")):
            vocoder.load(f"hf:someone/tiny/hifigan.bin{suffix}", "cpu")


def test_a_pinned_revision_loads_that_revision(offline_hub: Path, tmp_path: Path) -> None:
    _cache_snapshot(offline_hub, "someone/tiny", COMMIT_A, _tiny_files(tmp_path, 0))
    _cache_snapshot(offline_hub, "someone/tiny", COMMIT_B, _tiny_files(tmp_path, 1), main=False)
    mel = torch.randn(1, 80, 4) - 4.0
    main = vocoder.load("hf:someone/tiny/hifigan.bin", "cpu")(mel)
    pinned_a = vocoder.load(f"hf:someone/tiny/hifigan.bin@{COMMIT_A}", "cpu")(mel)
    pinned_b = vocoder.load(f"hf:someone/tiny/hifigan.bin@{COMMIT_B}", "cpu")(mel)
    assert torch.equal(main, pinned_a) and not torch.allclose(main, pinned_b, atol=1e-3)
    local_b = vocoder.load(str(tmp_path / "src1" / "hifigan.bin"), "cpu", config=_tiny_config(tmp_path))
    assert torch.equal(pinned_b, local_b(mel))


def test_hub_config_falls_back_to_config_json_then_names_both(offline_hub: Path, tmp_path: Path) -> None:
    _cache_snapshot(offline_hub, "someone/tiny", COMMIT_A, _tiny_files(tmp_path, 0, "config.json"))
    assert vocoder.load("hf:someone/tiny/hifigan.bin", "cpu").generator.config.upsample_initial_channel == 32
    _cache_snapshot(offline_hub, "other/tiny", COMMIT_A, _tiny_files(tmp_path, 1, None))
    with pytest.raises(vocoder.VocoderUnavailableError, match=_exact(
            "no config JSON for vocoder hf:other/tiny/hifigan.bin: tried "
            "['hifigan.json', 'config.json'] in other/tiny")):
        vocoder.load("hf:other/tiny/hifigan.bin", "cpu")


class _Recorder(http.server.BaseHTTPRequestHandler):
    """Records each request's method and path; answers HEAD with `status` (a 404 says, as the Hub
    does, which entry is missing), nothing else."""

    seen: list[tuple[str, str]]
    status = 200

    def parse_request(self) -> bool:
        ok = super().parse_request()
        self.seen.append((self.command, self.path))
        return ok

    def do_HEAD(self) -> None:
        self.send_response(self.status)
        if self.status == 404:
            self.send_header("X-Error-Code", "EntryNotFound")
            self.send_header("X-Error-Message", "Entry not found")
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def local_hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator:
    """Start a recording HTTP server on 127.0.0.1 and point the Hub client at it (no proxies)."""
    servers = []

    def start(status: int) -> list[tuple[str, str]]:
        seen: list[tuple[str, str]] = []
        handler = type("Handler", (_Recorder,), {"seen": seen, "status": status})
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True).start()
        servers.append(server)
        point_hub_client_at(monkeypatch, f"http://127.0.0.1:{server.server_address[1]}",
                            tmp_path / "hub")
        return seen

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("status", [200, 404, 503])
def test_the_hub_probe_is_one_head_request_and_any_answer_counts(local_hub, status: int) -> None:
    seen = local_hub(status)
    assert hub_reachable() is True
    assert seen == [("HEAD", "/")]


def test_a_closed_port_is_unreachable(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setattr(huggingface_hub.constants, "ENDPOINT", f"http://127.0.0.1:{port}")
    assert hub_reachable(timeout=1.0) is False


def test_a_silent_hub_is_unreachable_after_the_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    """A server that accepts but never answers: the probe gives up after `timeout` seconds."""
    results: list[bool] = []
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)  # the kernel completes the handshake; nobody ever reads or writes
        monkeypatch.setattr(huggingface_hub.constants, "ENDPOINT",
                            f"http://127.0.0.1:{listener.getsockname()[1]}")
        probe = threading.Thread(target=lambda: results.append(hub_reachable(timeout=0.2)), daemon=True)
        probe.start()
        probe.join(timeout=5.0)  # 0.2 s expected; the margin is for a loaded machine
        # checked before the listener closes: closing it resets the connection, ending any wait
        assert not probe.is_alive() and results == [False]


def test_an_unreachable_hub_is_not_contacted_again(
        local_hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """After the probe says unreachable, checkpoint and config come from the cache, offline."""
    seen = local_hub(200)
    monkeypatch.setattr(loading, "hub_reachable", lambda: False)
    _cache_snapshot(tmp_path / "hub", "someone/tiny", COMMIT_A, _tiny_files(tmp_path, 0, "config.json"))
    voc = vocoder.load("hf:someone/tiny/hifigan.bin", "cpu")
    assert voc.generator.config == HiFiGANConfig.from_dict(TINY)
    assert seen == []


def test_a_hub_error_is_reported_with_the_spec(local_hub) -> None:
    seen = local_hub(404)
    with pytest.raises(vocoder.VocoderUnavailableError,
                       match="^cannot fetch vocoder hf:someone/missing/g.bin@v2: .+") as error:
        vocoder.load("hf:someone/missing/g.bin@v2", "cpu")
    assert "404" in str(error.value)
    assert seen[0] == ("HEAD", "/") and ("HEAD", "/someone/missing/resolve/v2/g.bin") in seen


def test_a_hub_that_answers_the_probe_but_not_the_download_says_so(local_hub) -> None:
    local_hub(200)  # answers every request, but without the headers of a Hub file
    with pytest.raises(vocoder.VocoderUnavailableError, match=(
            r"^vocoder hf:someone/tiny/g\.bin is not in the Hugging Face cache and the Hub "
            r"\(http://127\.0\.0\.1:\d+\) answered but did not serve it \(.+\)$")):
        vocoder.load("hf:someone/tiny/g.bin", "cpu")


# --- Griffin-Lim -------------------------------------------------------------------------------


def test_griffin_lim_uses_the_feature_filterbank_and_its_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    voc = GriffinLimVocoder(torch.device("cpu"))
    basis = librosa.filters.mel(sr=22050, n_fft=1024, n_mels=80, fmin=0.0, fmax=8000.0,
                                htk=False, norm="slaney")
    assert torch.allclose(voc.inverse_basis, torch.linalg.pinv(torch.from_numpy(basis)))
    calls = []

    def spy(magnitude, window, n_fft, hop_length, win_length, **options):
        calls.append((magnitude.shape, window, n_fft, hop_length, win_length, options))
        return torch.full((magnitude.shape[0], options["length"]), 2.0)

    monkeypatch.setattr(torchaudio.functional, "griffinlim", spy)
    out = voc(torch.zeros(2, 80, 7))
    (shape, window, n_fft, hop, win, options), = calls
    assert (shape, n_fft, hop, win) == ((2, 513, 8), 1024, 256, 1024)
    assert torch.equal(window, torch.hann_window(1024))
    assert options == {"power": 1.0, "n_iter": 32, "momentum": 0.99, "length": 7 * 256, "rand_init": False}
    assert torch.allclose(out, torch.full((2, 7 * 256), 0.99))  # scaled to a 0.99 peak
