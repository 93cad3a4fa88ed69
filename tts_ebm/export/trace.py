"""Module -> ONNX file, for graphs that take gradients inside their forward.

`torch.export` cannot yet keep `torch.autograd.grad` through every op (the saved tensors of
layer norm's and upsampling's backward become "lifted" fake constants it refuses). So a graph
with gradients is first traced with `make_fx`: autograd runs on the traced tensors and records
its backward ops, decomposed into core ATen ops, which leaves a plain graph of forward ops that
`torch.onnx.export` converts. The one backward op without a decomposition, the input gradient
of a convolution, is written as the transposed convolution it is (`_convolution_input_grad`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn
from torch._decomp import core_aten_decompositions
from torch.fx.experimental.proxy_tensor import make_fx

from tts_ebm.io import atomic_path

aten = torch.ops.aten


def _convolution_input_grad(
    grad_output: Tensor, input: Tensor, weight: Tensor, bias_sizes: Any, stride: list[int],
    padding: list[int], dilation: list[int], transposed: bool, output_padding: list[int],
    groups: int, output_mask: list[bool],
) -> tuple[Tensor | None, None, None]:
    """aten.convolution_backward for the input alone: a transposed convolution with the same
    weight, its output padding chosen to give back the input's length."""
    if transposed or output_mask[1] or output_mask[2]:
        raise NotImplementedError("only the input gradient of a plain convolution is exported")
    kernel = weight.shape[2:]
    extra = [int(size - ((out - 1) * s - 2 * p + d * (k - 1) + 1))
             for size, out, s, p, d, k in zip(input.shape[2:], grad_output.shape[2:], stride,
                                              padding, dilation, kernel)]
    grad_input = aten.convolution(grad_output, weight, None, stride, padding, dilation, True,
                                  extra, groups)
    return grad_input, None, None


def export_onnx(module: nn.Module, args: tuple[Tensor, ...], dynamic_shapes: Any,
                path: str | Path, *, input_names: list[str], output_names: list[str],
                gradients: bool = False) -> Path:
    """Write `module` called on `args` to `path` (opset 18). `gradients`: the forward takes
    gradients (traced with make_fx first; its example shapes must satisfy every shape rule
    the graph relies on, such as even lengths, since make_fx fixes those)."""
    if gradients:
        table = {**core_aten_decompositions(),
                 aten.convolution_backward.default: _convolution_input_grad}
        module = make_fx(module, tracing_mode="symbolic", decomposition_table=table,
                         _allow_non_fake_inputs=True)(*args).eval()  # a plain graph
    program = torch.onnx.export(module, args, dynamic_shapes=dynamic_shapes, dynamo=True,
                                input_names=input_names, output_names=output_names,
                                optimize=True, verbose=False)
    path = Path(path)
    with atomic_path(path) as tmp:
        program.save(str(tmp))
    return path
