"""Objective evaluation: per-utterance metrics, folder-level evaluation, recipe report.

Import the submodules directly (`tts_ebm.evaluation.metrics`, `.evaluate`, `.report`); this
package stays empty so that `tts-ebm evaluate --help` does not load pysptk/pyworld.
"""
