"""ONNX export of a checkpoint and its vocoder (`tts-ebm export-onnx`); the exported voice runs
with `tts_ebm.onnx_runtime` alone. Imports torch, onnx and onnxscript: import it only to export."""
