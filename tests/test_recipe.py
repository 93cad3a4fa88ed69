"""The staged recipe: option parsing, stage skipping on rerun, failure reporting, report stage."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tts_ebm import sampler_config

REPO = Path(__file__).resolve().parents[1]
RECIPE = REPO / "recipes" / "tts.sh"
BIN = Path(sys.executable).parent  # the venv that runs the tests also provides tts-ebm


def _recipe(tmp: Path, *options: str, shims: Path | None = None) -> subprocess.CompletedProcess:
    """The recipe on tmp/{data,dump,exp}; commands in `shims` take precedence over the venv's."""
    path = f"{BIN}{os.pathsep}{os.environ['PATH']}"
    env = {**os.environ, "PATH": path if shims is None else f"{shims}{os.pathsep}{path}"}
    dirs = ["--data_dir", tmp / "data", "--dump_dir", tmp / "dump", "--exp_dir", tmp / "exp"]
    return subprocess.run(
        ["bash", str(RECIPE), "--corpus", "mini", "--python", sys.executable,
         *map(str, dirs), *options],
        check=False, cwd=tmp, env=env, capture_output=True, text=True, timeout=1800,
    )


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess]:
    """Stages 1-2 on a 2/1/1 mini corpus (no training)."""
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed")
    tmp = tmp_path_factory.mktemp("recipe")
    result = _recipe(tmp, "--n_train", "2", "--n_val", "1", "--n_test", "1", "--stop_stage", "2")
    assert result.returncode == 0, result.stdout + result.stderr
    return tmp, result


def test_data_and_feature_stages_write_markers_logs_and_test_set(
    prepared: tuple[Path, subprocess.CompletedProcess],
) -> None:
    tmp, result = prepared
    assert (tmp / "data" / "mini" / "manifests" / ".done").is_file()
    assert (tmp / "dump" / ".done").is_file()
    for name in ("stage1_data", "stage2_features", "stage2_test_set"):
        assert (tmp / "exp" / "logs" / f"{name}.log").is_file()
    (line,) = (tmp / "dump" / "test_text.txt").read_text().splitlines()
    utt_id, text = line.split("|")
    assert text.strip()
    reference = tmp / "dump" / "test_ref_wavs" / f"{utt_id}.wav"
    assert reference.resolve() == (tmp / "data" / "mini" / "wavs" / f"{utt_id}.wav").resolve()
    assert "stage 3" not in result.stdout  # --stop_stage 2 is honoured


def test_rerun_skips_finished_stages(prepared: tuple[Path, subprocess.CompletedProcess]) -> None:
    tmp, _ = prepared
    logs = tmp / "exp" / "logs"
    before = {p.name: p.stat().st_mtime_ns for p in logs.glob("*.log")}
    again = _recipe(tmp, "--n_train", "2", "--n_val", "1", "--n_test", "1", "--stop_stage", "2")
    assert again.returncode == 0, again.stderr
    for unit in ("data", "features", "test_set"):
        assert f"{unit} already done, skipping" in again.stdout
    assert {p.name: p.stat().st_mtime_ns for p in logs.glob("*.log")} == before


def test_failing_stage_names_itself_and_its_log(tmp_path: Path) -> None:
    result = _recipe(tmp_path, "--stage", "2", "--stop_stage", "2")  # no manifests: stage 1 skipped
    assert result.returncode != 0
    log = tmp_path / "exp" / "logs" / "stage2_features.log"
    assert "stage 2 (features) failed" in result.stderr
    assert str(log) in result.stderr
    assert "manifest" in log.read_text().lower()
    assert not (tmp_path / "dump" / ".done").exists()


def test_options_are_checked(tmp_path: Path) -> None:
    assert _recipe(tmp_path, "--help").returncode == 0
    unknown = _recipe(tmp_path, "--no_such_option", "1")
    assert unknown.returncode == 2 and "unknown option --no_such_option" in unknown.stderr
    bad_corpus = _recipe(tmp_path, "--corpus=vctk")
    assert bad_corpus.returncode == 2 and "--corpus vctk" in bad_corpus.stderr
    assert "invalid choice: 'vctk'" in bad_corpus.stderr and "'folder'" in bad_corpus.stderr


def test_report_stage_reads_the_experiment_layout(tmp_path: Path) -> None:
    run = tmp_path / "exp" / "delta"
    (run / "train").mkdir(parents=True)
    (run / "train" / "train_summary.json").write_text(json.dumps({"steps": 5, "wall_time_s": 61}))
    (run / "synth_K4").mkdir()
    (run / "synth_K4" / "rtf.json").write_text(json.dumps({"rtf": 0.5, "steps": 4}))
    (run / "eval_K4").mkdir()
    summary = {"mcd_db": {"mean": 6.5, "ci95": 0.25, "std": 0.3, "n": 4}}
    (run / "eval_K4" / "metrics.json").write_text(json.dumps({"summary": summary}))
    result = _recipe(tmp_path, "--stage", "6", "--stop_stage", "6", "--criteria", "delta",
                     "--report_pairs", "delta:delta delta:nce")
    assert result.returncode == 0, result.stderr
    text = (tmp_path / "exp" / "RESULTS.md").read_text()
    assert "| delta | 4 | – | – | – | – | 6.50 ± 0.25 |" in text
    assert "| delta − delta |" in text and "| delta − nce |" in text  # both pairs reached it
    assert (tmp_path / "exp" / "quality_vs_steps.png").is_file()


def test_listening_stage_exports_a_subset_when_asked(tmp_path: Path, make_wav) -> None:
    """500 LJSpeech test sentences would be 500 MUSHRA pages: --listening_utterances N draws N;
    --listening_criteria keeps the bench's ablations and seed runs (here fm, never synthesised)
    off a page that holds 12 conditions."""
    ids = ["LJ001-0001", "LJ001-0002", "LJ001-0003"]
    for i, utt in enumerate(ids):
        make_wav(f"dump/test_ref_wavs/{utt}.wav", seconds=1.0, freq=200.0 + 20 * i)
        make_wav(f"exp/delta/synth_K2/{utt}.wav", seconds=1.0, freq=210.0 + 20 * i)
    (tmp_path / "dump" / "test_text.txt").write_text("".join(f"{u}|text {u}\n" for u in ids))
    result = _recipe(tmp_path, "--stage", "7", "--stop_stage", "7", "--criteria", "delta fm",
                     "--listening_criteria", "delta", "--main_steps", "2",
                     "--listening_utterances", "2")
    assert result.returncode == 0, result.stdout + result.stderr
    export = tmp_path / "exp" / "listening_test" / "export_report.json"
    report = json.loads(export.read_text())["report"]
    assert len(report["utterance_ids"]) == 2 and set(report["utterance_ids"]) < set(ids)


TINY_CONFIG = """\
model: {preset: tiny}
criterion: {name: delta}
data: {batch_size: 2, val_synth: 0}
optim: {warmup: 1}
trainer: {max_steps: 3, val_every: 1000, ckpt_every: 1000, log_every: 1}
"""


@pytest.mark.slow
def test_tiny_recipe_end_to_end(tmp_path: Path) -> None:
    """All seven stages on a 4/1/2 mini corpus with 3 training steps; then a rerun skips all."""
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed")
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "delta.yaml").write_text(TINY_CONFIG)
    options = ["--n_train", "4", "--n_val", "1", "--n_test", "2", "--criteria", "delta",
               "--conf_dir", str(conf), "--inference_steps", "1 2", "--main_steps", "2",
               "--vocoder", "griffin-lim", "--eval_args", "--f0-method dio"]
    result = _recipe(tmp_path, *options)
    assert result.returncode == 0, result.stdout + result.stderr
    exp = tmp_path / "exp"
    for k in (1, 2):
        metrics = json.loads((exp / "delta" / f"eval_K{k}" / "metrics.json").read_text())
        assert metrics["counts"]["evaluated"] == 2
        assert json.loads((exp / "delta" / f"synth_K{k}" / "rtf.json").read_text())["steps"] == k
        assert {"wer", "dnsmos_p808", "mel_fd", "gv_ratio"} <= set(metrics["summary"])
    for ceiling in ("reference", "copy_synthesis"):  # the ceiling rows: WER and DNSMOS at least
        summary = json.loads((exp / ceiling / "eval" / "metrics.json").read_text())["summary"]
        assert {"wer", "dnsmos_p808"} <= set(summary), ceiling
    assert "mcd_db" in summary and "mel_fd" not in summary  # copy synthesis: vocoded data mels
    # the reference's features are extracted once and shared by the three compared systems
    assert len(list((exp / "reference" / "features").glob("*/*.npz"))) == 2
    results = (exp / "RESULTS.md").read_text()
    rows = [line.split(" | ")[0] for line in results.split("## Main comparison")[1].splitlines()
            if line.startswith("| ") and not line.startswith("| system")]
    assert rows[:3] == ["| reference recordings", "| copy synthesis", "| delta"]
    page = exp / "samples" / "index.html"  # stage 8: reference, copy synthesis, delta K=2
    sources = re.findall(r'<audio controls preload="none" src="([^"]+)"', page.read_text())
    assert len(sources) == 2 * 3 and all((page.parent / src).is_file() for src in sources)
    again = _recipe(tmp_path, *options, "--stop_stage", "5")
    assert again.returncode == 0
    # data, features, test set, train, 2 synth + copy synthesis, reference + copy + 2 evals
    assert again.stdout.count("already done, skipping") == 11


def test_budget_steps_give_each_config_its_share_of_equal_compute(tmp_path: Path) -> None:
    """--budget_steps B trains each config round(B / cost) steps (validation at the end); a
    config without a cost stops the recipe before any training starts."""
    shim = tmp_path / "bin" / "tts-ebm"  # records `tts-ebm train`, runs the rest for real
    shim.parent.mkdir()
    shim.write_text(f'#!/usr/bin/env bash\nif [ "$1" = train ]; then echo "$*" >> '
                    f'{tmp_path}/train_calls; exit 0; fi\nexec {BIN / "tts-ebm"} "$@"\n')
    shim.chmod(0o755)
    conf = tmp_path / "conf"
    conf.mkdir()
    for name in ("delta", "fm", "nce"):  # fm_seed2 trains fm.yaml
        (conf / f"{name}.yaml").write_text(TINY_CONFIG)
    options = ["--stage", "3", "--stop_stage", "3", "--conf_dir", str(conf),
               "--budget_steps", "600", "--step_costs", "delta=1 fm=0.47 nce=2.8"]
    result = _recipe(tmp_path, *options, "--criteria", "delta fm nce fm_seed2", shims=shim.parent)
    assert result.returncode == 0, result.stdout + result.stderr
    calls = (tmp_path / "train_calls").read_text().splitlines()
    steps = {re.search(r"/exp/(\w+)/train", c)[1]: re.findall(r"trainer\.(?!seed)\w+=\d+", c)
             for c in calls}
    assert steps == {
        "delta": ["trainer.max_steps=600", "trainer.val_every=600", "trainer.ckpt_every=200"],
        "fm": ["trainer.max_steps=1277", "trainer.val_every=1277", "trainer.ckpt_every=426"],
        "nce": ["trainer.max_steps=214", "trainer.val_every=214", "trainer.ckpt_every=72"],
        "fm_seed2": ["trainer.max_steps=1277", "trainer.val_every=1277",  # fm's cost
                     "trainer.ckpt_every=426"],
    }
    (tmp_path / "train_calls").unlink()
    missing = _recipe(tmp_path, *options, "--criteria", "delta ssm", shims=shim.parent)
    assert missing.returncode == 1 and not (tmp_path / "train_calls").exists()
    assert "no config" in missing.stderr
    (conf / "ssm.yaml").write_text(TINY_CONFIG)
    missing = _recipe(tmp_path, *options, "--criteria", "delta ssm", shims=shim.parent)
    assert missing.returncode == 1 and not (tmp_path / "train_calls").exists()
    assert "--budget_steps: no cost for ssm in --step_costs" in missing.stderr


def test_chosen_settings_reach_training_and_synthesis(tmp_path: Path) -> None:
    """--chosen DIR: each config trains with its chosen overrides and is synthesised at K = 0
    (mu alone, only the --mu_criteria when given) and its chosen K with its chosen sampler
    options; a _seed<N> run trains its system's config with that seed and takes its choices; a
    config without choices stops the recipe before any training."""
    shim = tmp_path / "bin" / "tts-ebm"  # records train, synthesize and vocode; runs the rest
    shim.parent.mkdir()
    shim.write_text(f'#!/usr/bin/env bash\ncase "$1" in train|synthesize|vocode) echo "$*" >> '
                    f'{tmp_path}/calls; exit 0;; esac\nexec {BIN / "tts-ebm"} "$@"\n')
    shim.chmod(0o755)
    conf, chosen = tmp_path / "conf", tmp_path / "chosen"
    conf.mkdir()
    chosen.mkdir()
    for name in ("delta", "fm"):
        (conf / f"{name}.yaml").write_text(TINY_CONFIG)
    sampler_config.write(chosen / "delta.yaml", {"steps": 2, "temperature": 0.3,
                                                 "step_size": "1/K"}, {"optim.lr": 0.001}, "lr")
    (tmp_path / "dump").mkdir()
    (tmp_path / "dump" / "test_text.txt").write_text("LJ001-0001|Hello.\n")
    options = ["--stage", "3", "--stop_stage", "4", "--conf_dir", str(conf), "--chosen",
               str(chosen), "--inference_steps", "0 1 4"]
    result = _recipe(tmp_path, *options, "--criteria", "delta delta_seed2", shims=shim.parent)
    assert result.returncode == 0, result.stdout + result.stderr
    calls = (tmp_path / "calls").read_text().splitlines()
    trains = sorted(c for c in calls if c.startswith("train"))
    assert len(trains) == 2 and all(f"--config {conf}/delta.yaml " in c for c in trains)
    assert "optim.lr=0.001" in trains[0] and "trainer.seed" not in trains[0]
    assert "optim.lr=0.001 trainer.seed=2" in trains[1]
    synths = sorted(re.search(r"/exp/(\w+)/synth_K(\d+) (.*)", c).group(1, 2, 3)
                    for c in calls if c.startswith("synthesize"))
    assert [s[:2] for s in synths] == [("delta", "0"), ("delta", "2"),
                                       ("delta_seed2", "0"), ("delta_seed2", "2")]
    assert synths[1][2].endswith(f"--sampler-config {chosen}/delta.yaml")  # --steps 2 before it
    assert synths[0][2].endswith("--temperature 0")  # mu alone: no sampler options
    (tmp_path / "calls").unlink()
    result = _recipe(tmp_path, "--stage", "4", "--stop_stage", "4", *options[4:], "--criteria",
                     "delta delta_seed3", "--mu_criteria", "delta", "--exp_dir", str(tmp_path / "exp_mu"),
                     shims=shim.parent)
    assert result.returncode == 0, result.stdout + result.stderr
    synths = sorted(re.search(r"/exp_mu/(\w+)/synth_K(\d+)", c).group(1, 2)
                    for c in (tmp_path / "calls").read_text().splitlines()
                    if c.startswith("synthesize"))
    assert synths == [("delta", "0"), ("delta", "2"), ("delta_seed3", "2")]
    (tmp_path / "calls").unlink()
    missing = _recipe(tmp_path, *options, "--criteria", "delta fm", shims=shim.parent)
    assert missing.returncode == 1 and not (tmp_path / "calls").exists()
    assert f"--chosen: no {chosen}/fm.yaml" in missing.stderr


def test_the_contest_takes_its_systems_and_their_chosen_ks(tmp_path: Path) -> None:
    """Stage 9 with --contest_criteria and --chosen: those systems only, at the K > 0 of
    --inference_steps and every chosen K, each anchored at its chosen K."""
    python = tmp_path / "bin" / "python"  # records the contest's command line (`-m` runs)
    python.parent.mkdir()
    python.write_text(f'#!/usr/bin/env bash\n[ "$1" = -m ] && exec {sys.executable} "$@"\n'
                      f'echo "$*" > {tmp_path}/contest_call\n'
                      f'mkdir -p {tmp_path}/exp/contest && touch {tmp_path}/exp/contest/CONTEST.md\n')
    python.chmod(0o755)
    chosen = tmp_path / "chosen"
    chosen.mkdir()
    for name, k in (("delta", 2), ("fm_xpred", 10), ("nce", 50)):
        sampler_config.write(chosen / f"{name}.yaml", {"steps": k, "temperature": 0.3}, {}, "")
    result = _recipe(tmp_path, "--stage", "9", "--python", str(python), "--chosen", str(chosen),
                     "--criteria", "delta nce fm_xpred", "--contest_criteria", "delta fm_xpred",
                     "--inference_steps", "0 1 4")
    assert result.returncode == 0, result.stdout + result.stderr
    call = (tmp_path / "contest_call").read_text()
    assert "--criteria delta fm_xpred --ks 1 2 4 10 " in call  # nce's K = 50 is not timed
    assert call.rstrip().endswith(f"--chosen delta=2 fm_xpred=10 --sampler-config "
                                  f"delta={chosen}/delta.yaml fm_xpred={chosen}/fm_xpred.yaml")


def test_a_failed_unit_shows_its_progress_bar_as_a_terminal_would(tmp_path: Path) -> None:
    shim = tmp_path / "bin" / "tts-ebm"  # a training run that draws a bar, then fails
    shim.parent.mkdir()
    shim.write_text(f'#!/usr/bin/env bash\nif [ "$1" = train ]; then printf "train 1/3\\rtrain '
                    f'2/3\\rtrain 3/3\\nout of memory\\n"; exit 1; fi\nexec {BIN / "tts-ebm"} "$@"\n')
    shim.chmod(0o755)
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "delta.yaml").write_text(TINY_CONFIG)
    result = _recipe(tmp_path, "--stage", "3", "--stop_stage", "3", "--criteria", "delta",
                     "--conf_dir", str(tmp_path / "conf"), shims=shim.parent)
    assert result.returncode == 1
    assert "  | train 3/3\n  | out of memory\n" in result.stderr
    assert "1/3" not in result.stderr
