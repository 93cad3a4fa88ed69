"""Cost of one training step of each criterion, relative to one forward+backward of the energy
and to one delta step: the unit that converts a compute budget into max_steps per criterion.

    python benchmarks/step_cost.py [--sizes small] [--conf-dir egs/mini/conf] [--repeats 7]

For every (size, method) a fresh subprocess builds the field of that criterion on one backbone
(`ModelConfig.preset(size)`: every criterion the same size, as the bench demands) and a batch of
random --frames-frame segments, then times one step (median of --repeats after --warmup runs,
CPU, --threads intra-op threads):
- `fwd+bwd`: E(x, mu, mask).sum().backward() of the energy field, the reference;
- each registered criterion (delta, dsm, fm, nce, ssm) with its field (`model.field`) and
  options from <conf-dir>/<criterion>.yaml (registry defaults and the energy field where there
  is no such file): loss = criterion(field, x, mu, mask); backward. So fm is timed on its
  velocity field and nce with the recipe's negatives (short-run model samples included);
- `ssm-jvp`: ssm's default loss (vr, one Rademacher projection) with the Hessian-vector product
  by forward mode, torch.func.jvp over torch.func.grad, instead of a second backward pass (issue
  12's candidate). Its loss equals ssm's, but backpropagating it to the parameters through the
  functorch transforms gave gradients 10 % (relative L2) away from ssm's, in float64 too: a
  cost measurement only, not a replacement.
Only the field and its criterion are timed: the text encoder, duration and prior losses of a
real step cost every criterion the same, so whole-step ratios lie nearer 1 than these.
mu requires grad, as in training where the criterion's gradient flows into the encoder.
CPU time (process_time, all threads) is shown beside wall time because wall time on a
shared, oversubscribed machine mostly measures the neighbours. Memory is the increase of the
subprocess's peak resident set size (getrusage ru_maxrss) over its level after building the
network and inputs: activations, autograd buffers and parameter gradients of the step, as the
allocator sees them (includes allocator caching). Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from tts_ebm import criteria, fields
from tts_ebm.model.config import PRESETS, ModelConfig
from tts_ebm.training.config import load_config

BASELINE = "fwd+bwd"
SSM_JVP = "ssm-jvp"
REFERENCE = "delta"  # the criterion every other's step is also expressed in
CONFIGS = list(PRESETS)
ROOT = Path(__file__).resolve().parents[1]


def ssm_jvp_loss(net: fields.Field, x: torch.Tensor, mu: torch.Tensor,
                 mask: torch.Tensor) -> torch.Tensor:
    """ssm (vr, one Rademacher projection v): -v^T H v + ||grad E||^2 / 2 per valid element,
    H v by forward-over-reverse differentiation."""
    v = (torch.randint(0, 2, x.shape).to(x.dtype) * 2 - 1) * mask

    def grad_energy(z: torch.Tensor) -> torch.Tensor:
        return torch.func.grad(lambda y: net(y, mu, mask).sum())(z)

    grad, hv = torch.func.jvp(grad_energy, (x,), (v,))
    n = mask.sum() * x.shape[1]
    return (-(hv * v).sum() + 0.5 * ((grad * mask) ** 2).sum()) / n


def recipe_setting(conf_dir: Path, method: str) -> tuple[str, str, dict[str, Any]]:
    """(model.field, criterion name, its options) of <conf_dir>/<method>.yaml (a config such as
    fm_xpred names its criterion); for the baselines, and for a criterion without a config
    there, the energy field and the registry defaults."""
    path = conf_dir / f"{method}.yaml"
    if method in (BASELINE, SSM_JVP) or not path.is_file():
        return "energy", method, {}
    config = load_config(path)
    return (config.model.get("field", "energy"), config.criterion.name,
            dict(config.criterion.options))


def make_step(method: str, criterion_name: str, field: fields.Field, options: dict[str, Any],
              x: torch.Tensor, mu: torch.Tensor, mask: torch.Tensor) -> Callable[[], None]:
    """One training step of `method` on fixed inputs, gradients cleared first."""
    criterion = (None if method in (BASELINE, SSM_JVP)
                 else criteria.build(criterion_name, **options))

    def step() -> None:
        field.zero_grad(set_to_none=True)
        mu.grad = None
        if method == SSM_JVP:
            loss = ssm_jvp_loss(field, x, mu, mask)
        elif criterion is None:
            loss = field(x, mu, mask).sum()
        else:
            loss, _ = criterion(field, x, mu, mask)
        loss.backward()

    return step


def measure(size: str, method: str, batch: int, frames: int, warmup: int, repeats: int,
            threads: int, conf_dir: Path) -> dict[str, Any]:
    """Median wall and CPU time per step (ms), peak-RSS increase (MiB), the field and its
    parameter count, in this process."""
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    cfg = ModelConfig.preset(size)
    field_name, criterion_name, options = recipe_setting(conf_dir, method)
    field = fields.build(field_name, cfg.frame_network(), cfg.energy_head)
    # Output layers start at zero; use a trained-like non-zero one so that every layer takes
    # part in the backward pass.
    torch.nn.init.normal_(field.network.out.weight, std=0.02)
    x = torch.randn(batch, cfg.n_mels, frames)
    mu = torch.randn(batch, cfg.n_mels, frames, requires_grad=True)
    mask = torch.ones(batch, 1, frames)
    mask[-1, :, frames * 3 // 4:] = 0  # one padded segment, as in real batches
    step = make_step(method, criterion_name, field, options, x, mu, mask)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for _ in range(warmup):
        step()
    times, cpu_times = [], []
    for _ in range(repeats):
        start, cpu_start = time.perf_counter(), time.process_time()
        step()
        times.append(time.perf_counter() - start)
        cpu_times.append(time.process_time() - cpu_start)
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"ms": 1000 * statistics.median(times),
            "cpu_ms": 1000 * statistics.median(cpu_times),
            "mem_mib": (rss_after - rss_before) / 1024, "field": field_name,
            "params": sum(p.numel() for p in field.parameters())}


def run_isolated(args: argparse.Namespace, size: str, method: str, batch: int) -> dict:
    """Run `measure` in a fresh interpreter so that peak RSS belongs to this method alone."""
    cmd = [sys.executable, __file__, "--worker", size, method, str(batch),
           "--frames", str(args.frames), "--warmup", str(args.warmup),
           "--repeats", str(args.repeats), "--threads", str(args.threads),
           "--conf-dir", str(args.conf_dir)]
    done = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def ratios(rounds: dict[str, list[dict]], method: str, reference: str, key: str) -> list[float]:
    """`method`'s `key` over `reference`'s, one ratio per round (measured minutes apart)."""
    return [mine[key] / ref[key] for mine, ref in zip(rounds[method], rounds[reference])]


def spread(values: list[float]) -> str:
    """Median, and the range over rounds when there are several."""
    text = f"{statistics.median(values):.2f}"
    return text + (f" ({min(values):.2f}–{max(values):.2f})" if len(values) > 1 else "")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["tiny", "ljspeech"], choices=CONFIGS)
    parser.add_argument("--criteria", nargs="+", default=None,
                        help=f"criteria or configs of --conf-dir (e.g. fm_xpred); default: "
                        f"all registered ({', '.join(criteria.names())}) and {SSM_JVP}; "
                        f"{REFERENCE} is always measured")
    parser.add_argument("--conf-dir", type=Path, default=ROOT / "egs" / "mini" / "conf",
                        help="<criterion>.yaml: each criterion's field and options "
                        "(default: %(default)s)")
    parser.add_argument("--batch-tiny", type=int, default=8)
    parser.add_argument("--batch-ljspeech", type=int, default=2,
                        help="batch of every size but tiny")
    parser.add_argument("--frames", type=int, default=172, help="segment length (2 s)")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=1,
                        help="measure every method this many times, interleaved, and report "
                        "medians: ratios of steps timed minutes apart on a loaded machine drift")
    parser.add_argument("--worker", nargs=3, metavar=("SIZE", "METHOD", "BATCH"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker:
        size, method, batch = args.worker
        print(json.dumps(measure(size, method, int(batch), args.frames, args.warmup,
                                 args.repeats, args.threads, args.conf_dir)))
        return 0

    chosen = args.criteria or [*criteria.names(), SSM_JVP]
    methods = [BASELINE, REFERENCE] + [m for m in chosen if m not in (BASELINE, REFERENCE)]
    print(f"CPU, {args.threads} threads, {args.frames}-frame segments, median of "
          f"{args.repeats} steps after {args.warmup} warm-up, {args.rounds} interleaved "
          f"round(s) (ratios: median over rounds, range in brackets); fields and options from "
          f"{args.conf_dir}; memory = peak RSS increase; load average at start "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs.\n")
    print("| size | batch | method | field | params | wall ms / step | CPU ms / step | "
          "CPU × fwd+bwd | CPU × delta | wall × delta | peak mem MiB |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for size in args.sizes:
        batch = args.batch_tiny if size == "tiny" else args.batch_ljspeech
        rounds: dict[str, list[dict]] = {method: [] for method in methods}
        for _ in range(args.rounds):
            for method in methods:
                rounds[method].append(run_isolated(args, size, method, batch))
        for method, runs in rounds.items():
            first = runs[0]
            print(f"| {size} | {batch} | {method} | {first['field']} | "
                  f"{first['params'] / 1e6:.2f} M | "
                  f"{statistics.median(r['ms'] for r in runs):.1f} | "
                  f"{statistics.median(r['cpu_ms'] for r in runs):.1f} | "
                  f"{spread(ratios(rounds, method, BASELINE, 'cpu_ms'))} | "
                  f"{spread(ratios(rounds, method, REFERENCE, 'cpu_ms'))} | "
                  f"{spread(ratios(rounds, method, REFERENCE, 'ms'))} | "
                  f"{max(r['mem_mib'] for r in runs):.0f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
