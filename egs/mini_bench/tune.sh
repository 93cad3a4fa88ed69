#!/usr/bin/env bash
# Tuning pass of the CPU benchmark (`make bench-tune`): the settings `make bench` tests, chosen
# on the `tune` set (100 LJSpeech sentences that no corpus trains on and no test set holds,
# data_prep/heldout.py), never on the test set.
# 1. the bench corpus and its dump (stages 1-2 of run.sh, shared with `make bench`);
# 2. the tune set, spoken by the same voice, and its features;
# 3. benchmarks/tune.py with tune_grid.yaml at the bench's budget and instrument (settings.sh):
#    trains every system, judges every grid point and mu alone on the tune set, applies the
#    declared rule, and writes exp/tune/TUNING.md and the choices into conf/chosen/ (read by
#    run.sh --chosen; commit them with the table).
# Resumable: a rerun skips what is done. Extra options go to tune.py, e.g. --systems delta nce.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
. ../mini/path.sh
. ./settings.sh

bash run.sh --stop_stage 2
if [ ! -e data/tune/dump/.done ]; then
    python -m data_prep.heldout --set tune --out data/tune --workers 2
    tts-ebm prepare features --manifest-dir data/tune/manifests --out data/tune/dump --workers 2
    date '+%Y-%m-%dT%H:%M:%S' >data/tune/dump/.done
fi
python ../../benchmarks/tune.py --grid tune_grid.yaml --tune-dump data/tune/dump \
    --train-dump dump --conf-dir ../mini/conf --out exp/tune --chosen-dir conf/chosen \
    --budget-steps "$budget_steps" --step-costs "$step_costs" --vocoder "$vocoder" "$@"
