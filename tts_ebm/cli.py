"""Command-line entry point `tts-ebm`.

Each subcommand lives in its own module under `tts_ebm.commands` and exposes
`add_arguments(parser)` and `run(args) -> int`; the module docstring is its `--help` text.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from tts_ebm.errors import UserInputError

# subcommand name -> (module under tts_ebm.commands, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "prepare": ("prepare", "download/build a corpus, write manifests, extract features"),
    "check-data": ("check_data", "list faulty and suspicious utterances of a corpus by id"),
    "train": ("train", "train an energy-based acoustic model from a YAML config"),
    "synthesize": ("synthesize", "synthesise speech from text (the shipped voice or a checkpoint)"),
    "vocode": ("vocode", "raw log-mel .npy files to speech with a vocoder (copy synthesis)"),
    "evaluate": ("evaluate", "objective metrics (MCD, log-F0 RMSE, V/UV) of synthesised audio"),
    "export-listening-test": ("export_listening_test", "build a webMUSHRA / crowdsourcing test"),
    "analyze-listening-test": ("analyze_listening_test", "MOS / MUSHRA statistics from results"),
    "samples-page": ("samples_page", "static HTML page of every system's audio and mels"),
    "serve": ("serve", "local web page: synthesise and watch the energy fall step by step"),
    "export-onnx": ("export_onnx", "export a checkpoint and HiFi-GAN to ONNX (runs without torch)"),
    "package-voice": ("package_voice", "make a checkpoint into a small voice with a model card"),
    "voices": ("voices", "list the voices --checkpoint can name (shipped and Hub-cached)"),
}


def build_parser(selected: str | None = None) -> argparse.ArgumentParser:
    """Parser with every subcommand listed; only `selected` has its module imported.

    Importing one module (not all) keeps `tts-ebm --help` fast and lets a command run even when
    another command's heavy dependency is broken.
    """
    parser = argparse.ArgumentParser(
        prog="tts-ebm",
        description="Energy-based text-to-speech toolkit. Run `tts-ebm COMMAND --help` for details.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module_name, help_text) in COMMANDS.items():
        if name != selected:
            sub.add_parser(name, help=help_text, description=help_text)
            continue
        module = importlib.import_module(f"tts_ebm.commands.{module_name}")
        command_parser = sub.add_parser(
            name,
            help=help_text,
            description=(module.__doc__ or help_text).strip(),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.add_arguments(command_parser)
        command_parser.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    selected = next((arg for arg in argv if not arg.startswith("-")), None)
    args = build_parser(selected if selected in COMMANDS else None).parse_args(argv)
    try:
        return int(args._run(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except (UserInputError, FileNotFoundError) as error:  # failures the user can fix
        print(f"tts-ebm {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
