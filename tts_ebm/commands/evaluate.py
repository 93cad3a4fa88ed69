"""Objective evaluation of synthesised audio against reference recordings.

  tts-ebm evaluate --reference data/test_wavs --synthesized exp/delta/synth_K4 \
      --text-file dump/test_text.txt --out exp/delta/eval_K4/metrics.json
  tts-ebm evaluate --synthesized data/test_wavs --text-file dump/test_text.txt --out ref.json

Files are matched by id (`<id>.wav` in both folders). Per utterance: MCD with DTW (mel-cepstrum
order 34, alpha 0.45, c0 excluded, fastdtw), log-F0 RMSE in cents on frames voiced in both
(WORLD harvest), gross pitch error rate (> 600 cents apart) and fine log-F0 RMSE (the rest),
V/UV error rate and duration ratio (synthesised / reference); means with 95 % t-intervals.
Offline judges of the synthesized files alone, at 16 kHz: DNSMOS P.835/P.808 (on unless
--no-dnsmos), Distill-MOS (on unless --no-distill-mos) and, with --text-file, pocketsphinx WER
(corpus WER in the summary; --no-wer).
Without --reference only these judges run: that scores the reference recordings themselves.
--reference-mels DUMP/mels adds metrics of the generated log-mels (`synthesize --save-mel`
writes them beside the wavs) against the reference mels: mel_mcd_db, gv_ratio, roughness_ratio
per utterance and the set-level mel_fd (tts_ebm/evaluation/mel_metrics.py).
Writes the JSON to --out and a Markdown summary next to it (same name, .md).
--whisper and --utmos download models at first use and need extra packages.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

from tts_ebm.errors import UserInputError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--reference", type=Path, default=None,
                        help="folder of reference <id>.wav files; without it only the "
                        "non-intrusive judges (DNSMOS, Distill-MOS, WER) are "
                        "computed (e.g. to score recordings)")
    parser.add_argument("--synthesized", type=Path, required=True,
                        help="folder of synthesised <id>.wav files")
    parser.add_argument("--out", type=Path, default=None,
                        help="metrics JSON to write (default: SYNTHESIZED/metrics.json); "
                        "the Markdown summary goes next to it")
    parser.add_argument("--workers", type=int, default=None,
                        help="worker processes (default: min(2, CPU count))")
    parser.add_argument("--f0-method", choices=("harvest", "dio"), default="harvest",
                        help="WORLD F0 estimator: harvest (default, robust) or dio (much faster)")
    parser.add_argument("--include-c0", action="store_true",
                        help="keep c0 (log gain) in MCD as ESPnet does (default: excluded)")
    parser.add_argument("--whisper", action="store_true",
                        help="also Whisper WER (needs openai-whisper, jiwer and --text-file)")
    parser.add_argument("--whisper-model", default="base", help="Whisper model (default: base)")
    parser.add_argument("--text-file", type=Path, default=None,
                        help="id|text file of the synthesised texts (like dump/test_text.txt): "
                        "pocketsphinx WER, and Whisper WER with --whisper")
    parser.add_argument("--no-wer", action="store_true",
                        help="skip the pocketsphinx WER even when --text-file is given")
    parser.add_argument("--no-dnsmos", action="store_true",
                        help="skip DNSMOS (P.808, P.835 SIG/BAK/OVRL; ~0.4 CPU-s per 9 s window)")
    parser.add_argument("--dnsmos-models", choices=("all", "p808"), default="all",
                        help="all: P.808 and P.835 SIG/BAK/OVRL (default); p808: P.808 alone, "
                        "the same scores at 1/30 of the cost (the P.835 model is the slow one)")
    parser.add_argument("--no-distill-mos", action="store_true",
                        help="skip Distill-MOS, the second MOS judge (~0.4 CPU-s per 7.7 s clip)")
    parser.add_argument("--utmos", action="store_true",
                        help="also UTMOS22 predicted MOS (torch.hub tarepan/SpeechMOS)")
    parser.add_argument("--reference-features", type=Path, default=None,
                        help="cache folder of the reference's mel-cepstra and F0, extracted once "
                        "and reused by every later evaluation against the same recordings and "
                        "settings (the recipe keeps it in EXP/reference/features); same scores")
    parser.add_argument("--reference-mels", type=Path, default=None,
                        help="folder of reference raw log-mels <id>.npy (a dump's mels/): adds "
                             "mel_mcd_db, mel_fd, gv_ratio and roughness_ratio of the generated mels")
    parser.add_argument("--synthesized-mels", type=Path, default=None,
                        help="folder of generated <id>.npy mels (default: beside the synthesized "
                             "wavs, as `tts-ebm synthesize --save-mel` writes them)")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def run(args: argparse.Namespace) -> int:
    from tts_ebm.evaluation import neural
    from tts_ebm.evaluation.evaluate import evaluate_folders, list_wavs, to_markdown
    from tts_ebm.evaluation.metrics import MetricSettings

    if args.whisper and args.text_file is None:
        raise UserInputError("--whisper needs --text-file (the id|text file that was synthesised)")
    if args.workers is not None and args.workers < 1:
        raise UserInputError(f"--workers must be at least 1, got {args.workers}")
    settings = MetricSettings(f0_method=args.f0_method, include_c0=args.include_c0)
    texts = neural.read_texts(args.text_file) if args.text_file is not None else None
    with warnings.catch_warnings(record=True) as caught:  # printed plainly, without source lines
        warnings.simplefilter("always")
        result = evaluate_folders(
            args.reference, args.synthesized, settings, workers=args.workers,
            progress=not args.no_progress, texts=None if args.no_wer else texts,
            dnsmos=not args.no_dnsmos, reference_features=args.reference_features,
            p835=args.dnsmos_models == "all", distill_mos=not args.no_distill_mos,
        )
        if args.reference_mels is not None:
            _add_mel_metrics(result, args.reference_mels, args.synthesized_mels, args.synthesized)
    for warning in caught:
        print(f"warning: {warning.message}", file=sys.stderr)
    if args.whisper or args.utmos:
        wavs = {i: p for i, p in list_wavs(args.synthesized).items() if i in result["utterances"]}
        if args.whisper:
            result["whisper_wer"] = neural.whisper_wer(wavs, texts, args.whisper_model)
        if args.utmos:
            result["utmos"] = neural.utmos(wavs)

    out = args.out or args.synthesized / "metrics.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    markdown = to_markdown(result)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    out.with_suffix(".md").write_text(markdown, encoding="utf-8")
    print(markdown, end="")
    print(f"wrote {out} and {out.with_suffix('.md')}")
    return 0


def _add_mel_metrics(result: dict, reference: Path, synthesized: Path | None, wavs: Path) -> None:
    """Mel metrics into `result`; mels missing beside the wavs (no --save-mel) only warn."""
    from tts_ebm.evaluation.mel_metrics import add_to_result, list_mels

    if synthesized is None and not list_mels(wavs):
        warnings.warn(f"no generated <id>.npy mels beside the wavs in {wavs} (synthesise with "
                      "--save-mel): mel metrics skipped", stacklevel=2)
        return
    add_to_result(result, reference, synthesized or wavs)
