"""The `tts-ebm` entry point: every subcommand has a working --help, errors exit cleanly."""

import subprocess
import sys

import pytest

from tts_ebm.cli import COMMANDS, main


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_subcommand_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: tts-ebm {command}")
    assert "--" in out  # documents at least one option


def test_top_level_help_lists_commands_without_importing_them():
    code = (
        "import sys; from tts_ebm.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "print('torch' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    for command in COMMANDS:
        assert command in result.stdout
    assert result.stdout.strip().endswith("False")  # --help stays light


def test_user_error_is_one_line_and_exit_code_2(tmp_path, capsys):
    code = main(["train", "--config", str(tmp_path / "missing.yaml")])
    assert code == 2
    err = capsys.readouterr().err
    assert "missing.yaml" in err and "Traceback" not in err
