"""How the two MOS judges rank known conditions: the calibration table of Distill-MOS beside
DNSMOS P.808 (docs/results/pitch_sweep_2026-12-07/CALIBRATION.md).

    python benchmarks/judge_calibration.py --reference-mels DUMP/mels --ids DUMP/test_text.txt \
        --recordings DUMP/test_ref_wavs --out OUT [--system NAME=FOLDER ...]

Conditions whose order is known: the recordings, copy synthesis through HiFi-GAN (the ceiling of
every acoustic model here), the same mels through Griffin-Lim, and white noise of each clip's
length; then any `--system` folders (e.g. μ alone and K = 2 of a model). Every folder is scored
by `tts-ebm evaluate` with no reference (the judges alone), mean ± 95 % interval per judge, and
each system's paired difference from copy synthesis.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

from tts_ebm.evaluation.report import JUDGES
from tts_ebm.statistics import paired_difference


def tts_ebm(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "tts_ebm.cli", *args], check=True,
                   stdout=subprocess.DEVNULL)


def white_noise(recordings: Path, out: Path) -> None:
    """Noise at 0.1 RMS, as long as each recording (seeded by its position)."""
    out.mkdir(parents=True, exist_ok=True)
    for i, wav in enumerate(sorted(recordings.glob("*.wav"))):
        info = sf.info(str(wav))
        noise = 0.1 * np.random.default_rng(i).standard_normal(info.frames)
        sf.write(out / wav.name, noise.astype(np.float32), info.samplerate)


def judged(folder: Path, out: Path) -> dict:
    if not out.is_file():
        tts_ebm("evaluate", "--synthesized", str(folder), "--out", str(out), "--workers", "2",
                "--dnsmos-models", "p808", "--no-progress")
    return json.loads(out.read_text(encoding="utf-8"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reference-mels", type=Path, required=True)
    parser.add_argument("--ids", type=Path, required=True, help="id|text file of the clips")
    parser.add_argument("--recordings", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--system", nargs="*", default=[], help="NAME=FOLDER of wavs")
    args = parser.parse_args()
    folders = {"recordings": args.recordings}
    for name, spec in (("copy synthesis (hifigan-lj)", "hifigan-lj"),
                       ("Griffin-Lim (same mels)", "griffin-lim")):
        folder = args.out / spec
        if not folder.is_dir():
            tts_ebm("vocode", "--mels", str(args.reference_mels), "--ids", str(args.ids),
                    "--out", str(folder), "--vocoder", spec)
        folders[name] = folder
    if not (args.out / "noise").is_dir():
        white_noise(args.recordings, args.out / "noise")
    folders["white noise"] = args.out / "noise"
    for item in args.system:
        name, _, folder = item.partition("=")
        folders[name] = Path(folder)
    results = {name: judged(folder, args.out / "judged" / f"{i}.json")
               for i, (name, folder) in enumerate(folders.items())}
    copy = results["copy synthesis (hifigan-lj)"]
    header = ["condition", "n"] + [j.label for j in JUDGES] + [f"{j.label} − copy synthesis"
                                                                for j in JUDGES]
    print("| " + " | ".join(header) + " |\n|" + "---|" * len(header))
    for name, result in results.items():
        cells = [name, str(result["counts"]["evaluated"])]
        cells += [j.format(result["summary"][j.key]["mean"], result["summary"][j.key]["ci95"])
                  for j in JUDGES]
        for judge in JUDGES:
            diff = paired_difference(result, copy, judge.key)
            cells.append("–" if result is copy or diff["ci95"] is None
                         else f"{diff['mean']:+.2f} ± {diff['ci95']:.2f}")
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
