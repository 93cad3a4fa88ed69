#!/usr/bin/env bash
# The GPU check, ready for the day a GPU is lent: at most 8 minutes on one GPU, no network.
#
#   bash scripts/gpu_check.sh [OUT_JSON]          (default: exp/gpu_check.json)
#
# 1. the tests that need CUDA (every tests/test_*.py with the `cuda` marker), at most 150 s;
# 2. benchmarks/gpu_check.py, at most 300 s: bf16-mixed training throughput of the `ljspeech`
#    preset for every criterion (delta dsm nce ssm fm), synthesis RTF (acoustic model at
#    K = 1/2/4/10, then HiFi-GAN, on the GPU) against the flow-matching peer fm at K = 10, and
#    2-process DDP when there are 2 GPUs or more; one table on stdout, also in OUT_JSON (written
#    after every row, so a run cut short keeps what it measured).
# Without CUDA it says so in one line and exits 0. It exits 1 when a test or a measurement failed.
# It needs the project's Python dependencies (`make setup`); PYTHON names the interpreter
# (default: .venv/bin/python when there is one, else python3).
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
out=${1:-exp/gpu_check.json}
python=${PYTHON:-python3}
[ -z "${PYTHON:-}" ] && [ -x .venv/bin/python ] && python=.venv/bin/python
export HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1  # no network: a Hub vocoder only from the cache

if ! "$python" -c 'import torch' 2>/dev/null; then
    echo "gpu_check: $python cannot import torch; install the project first (make setup)" >&2
    exit 1
fi
if ! "$python" -c 'import sys, torch; sys.exit(not torch.cuda.is_available())' 2>/dev/null; then
    echo "gpu_check: no CUDA device visible to torch, nothing to check"
    exit 0
fi
missing=$("$python" -c '
try:
    import data_prep.extract, tts_ebm.synthesis, tts_ebm.training.train, vocoder
except ModuleNotFoundError as error:
    print(error.name)
' 2>/dev/null)
if [ -n "$missing" ]; then
    echo "gpu_check: the Python module '$missing' is missing; install the project's dependencies" \
        "(pip install -e .)" >&2
    exit 1
fi

status=0
mapfile -t cuda_tests < <(grep -l 'pytest.mark.cuda' tests/test_*.py)
echo "== tests marked cuda: ${cuda_tests[*]}"
timeout 150 "$python" -m pytest -q -p no:cacheprovider -m cuda "${cuda_tests[@]}" || status=1

echo "== benchmark -> $out"
mkdir -p "$(dirname "$out")"
timeout 300 "$python" benchmarks/gpu_check.py --out "$out" || status=1
[ "$status" -eq 0 ] || echo "gpu_check: something failed (see above)" >&2
exit "$status"
