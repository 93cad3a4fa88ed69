#!/usr/bin/env bash
# Offline demo: the whole recipe on the festival-slt mini corpus, CPU-sized (`make demo`).
# Extra options override these, e.g. `bash egs/mini/run.sh --stage 4 --criteria delta`.
# F0 is tracked with dio, not harvest: on this corpus harvest puts the copy-synthesis ceiling at
# 304 cents log-F0 RMSE and 5.3 % gross pitch errors (dio: 60 cents, 0.0 %), too near the systems
# to separate them, and costs ~1 min more of the demo.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
. ./path.sh

../../recipes/tts.sh \
    --corpus mini \
    --n_train 1000 --n_val 20 --n_test 12 \
    --criteria "delta dsm" \
    --conf_dir conf \
    --inference_steps "0 2 4" \
    --main_steps 2 \
    --vocoder hifigan-lj \
    --eval_args "--f0-method dio" \
    --nj 2 \
    --train_jobs 2 \
    "$@"
