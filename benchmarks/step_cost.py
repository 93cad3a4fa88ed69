"""Cost of one training step of each criterion relative to one forward+backward of the energy.

    python benchmarks/step_cost.py [--sizes tiny ljspeech] [--repeats 7] [--threads 2]

For every (energy size, method) a fresh subprocess builds the energy network
(`ModelConfig.preset(size)`) and a batch of random 172-frame segments, then times
`method` (median of --repeats after --warmup runs, CPU, --threads intra-op threads):
- `fwd+bwd`: E(x, mu, mask).sum().backward(), the reference;
- each registered criterion with default options: loss = criterion(E, x, mu, mask); backward;
- `ssm-jvp`: ssm's default loss (vr, one Rademacher projection) with the Hessian-vector product
  by forward mode, torch.func.jvp over torch.func.grad, instead of a second backward pass (issue
  12's candidate). Its loss equals ssm's, but backpropagating it to the parameters through the
  functorch transforms gave gradients 10 % (relative L2) away from ssm's, in float64 too: a
  cost measurement only, not a replacement.
mu requires grad, as in training where the criterion's gradient flows into the encoder.
CPU time (process_time, all threads) is shown beside wall time because wall time on a
shared, oversubscribed machine mostly measures the neighbours. Memory is the increase of the subprocess's peak resident set size (getrusage ru_maxrss)
over its level after building the network and inputs: activations, autograd buffers and
parameter gradients of the step, as the allocator sees them (includes allocator caching).
Prints a Markdown table.
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

import torch

from tts_ebm import criteria
from tts_ebm.model.config import PRESETS, ModelConfig
from tts_ebm.networks.energy import EnergyNetwork

BASELINE = "fwd+bwd"
SSM_JVP = "ssm-jvp"
CONFIGS = list(PRESETS)


def ssm_jvp_loss(net: EnergyNetwork, x: torch.Tensor, mu: torch.Tensor,
                 mask: torch.Tensor) -> torch.Tensor:
    """ssm (vr, one Rademacher projection v): -v^T H v + ||grad E||^2 / 2 per valid element,
    H v by forward-over-reverse differentiation."""
    v = (torch.randint(0, 2, x.shape).to(x.dtype) * 2 - 1) * mask

    def grad_energy(z: torch.Tensor) -> torch.Tensor:
        return torch.func.grad(lambda y: net(y, mu, mask).sum())(z)

    grad, hv = torch.func.jvp(grad_energy, (x,), (v,))
    n = mask.sum() * x.shape[1]
    return (-(hv * v).sum() + 0.5 * ((grad * mask) ** 2).sum()) / n


def make_step(method: str, net: EnergyNetwork, x: torch.Tensor, mu: torch.Tensor,
              mask: torch.Tensor) -> Callable[[], None]:
    """One training step of `method` on fixed inputs, gradients cleared first."""
    criterion = None if method in (BASELINE, SSM_JVP) else criteria.build(method)

    def step() -> None:
        net.zero_grad(set_to_none=True)
        mu.grad = None
        if method == SSM_JVP:
            loss = ssm_jvp_loss(net, x, mu, mask)
        elif criterion is None:
            loss = net(x, mu, mask).sum()
        else:
            loss, _ = criterion(net, x, mu, mask)
        loss.backward()

    return step


def measure(size: str, method: str, batch: int, frames: int, warmup: int, repeats: int,
            threads: int) -> dict[str, float]:
    """Median wall and CPU time per step (ms) and peak-RSS increase (MiB), in this process."""
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    cfg = ModelConfig.preset(size)
    net = EnergyNetwork(cfg.frame_network(), cfg.energy_head)
    # The quadratic head's output layer starts at zero; use a trained-like non-zero head so
    # every layer takes part in the backward pass.
    torch.nn.init.normal_(net.out.weight, std=0.02)
    x = torch.randn(batch, cfg.n_mels, frames)
    mu = torch.randn(batch, cfg.n_mels, frames, requires_grad=True)
    mask = torch.ones(batch, 1, frames)
    mask[-1, :, frames * 3 // 4:] = 0  # one padded segment, as in real batches
    step = make_step(method, net, x, mu, mask)
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
            "cpu_ms": 1000 * statistics.median(cpu_times), "mem_mib": (rss_after - rss_before) / 1024}


def run_isolated(args: argparse.Namespace, size: str, method: str, batch: int) -> dict:
    """Run `measure` in a fresh interpreter so that peak RSS belongs to this method alone."""
    cmd = [sys.executable, __file__, "--worker", size, method, str(batch),
           "--frames", str(args.frames), "--warmup", str(args.warmup),
           "--repeats", str(args.repeats), "--threads", str(args.threads)]
    done = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["tiny", "ljspeech"], choices=CONFIGS)
    parser.add_argument("--criteria", nargs="+", default=None,
                        help=f"default: all registered ({', '.join(criteria.names())}) and "
                        f"{SSM_JVP}")
    parser.add_argument("--batch-tiny", type=int, default=8)
    parser.add_argument("--batch-ljspeech", type=int, default=2)
    parser.add_argument("--frames", type=int, default=172, help="segment length (2 s)")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--worker", nargs=3, metavar=("SIZE", "METHOD", "BATCH"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker:
        size, method, batch = args.worker
        print(json.dumps(measure(size, method, int(batch), args.frames, args.warmup,
                                 args.repeats, args.threads)))
        return 0

    methods = [BASELINE] + (args.criteria or [*criteria.names(), SSM_JVP])
    print(f"CPU, {args.threads} threads, {args.frames}-frame segments, median of "
          f"{args.repeats} steps after {args.warmup} warm-up; memory = peak RSS increase; "
          f"load average at start {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs.\n")
    print("| energy net | params | batch | method | wall ms / step | × fwd+bwd | "
          "CPU ms / step | × fwd+bwd | peak mem MiB |")
    print("|---|---|---|---|---|---|---|---|---|")
    for size in args.sizes:
        batch = args.batch_tiny if size == "tiny" else args.batch_ljspeech
        cfg = ModelConfig.preset(size)
        n_params = sum(p.numel() for p in EnergyNetwork(cfg.frame_network(),
                                                        cfg.energy_head).parameters())
        base: dict = {}
        for method in methods:
            r = run_isolated(args, size, method, batch)
            base = base or r
            print(f"| {size} | {n_params / 1e6:.2f} M | {batch} | {method} | {r['ms']:.1f} | "
                  f"{r['ms'] / base['ms']:.2f} | {r['cpu_ms']:.1f} | "
                  f"{r['cpu_ms'] / base['cpu_ms']:.2f} | {r['mem_mib']:.0f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
