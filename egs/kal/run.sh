#!/usr/bin/env bash
# A new speaker of the same language, offline: festival's kal diphone voice (a male US-English
# speaker at 16 kHz) speaks 300 short LJSpeech sentences (268 train, 12 val, 20 test; the mini
# corpus plug-in with --voice kal), and two delta systems are trained for the same 300 steps:
#   scratch   from random weights (conf/scratch.yaml)
#   finetune  from the `make demo` delta model of egs/mini (conf/finetune.yaml: its weights,
#             symbol table and mel statistics; a new optimiser and schedule; nothing frozen)
# The base model must exist first: `bash egs/mini/run.sh --stop_stage 3 --criteria delta`.
# Needs `apt-get install festival festvox-kallpc16k`. Measured: about 40 min on 2 cores shared
# with other runs (data 1 min, training 3.5 + 3.8 min, synthesis and evaluation the rest).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
. ./path.sh

base=../mini/exp/delta/train/checkpoints/last.ckpt
if [ ! -f "$base" ]; then
    echo "$0: no base model at $base; run: bash egs/mini/run.sh --stop_stage 3 --criteria delta" >&2
    exit 2
fi

../../recipes/tts.sh \
    --corpus mini \
    --voice kal \
    --n_train 268 --n_val 12 --n_test 20 \
    --criteria "scratch finetune" \
    --conf_dir conf \
    --inference_steps "0 2" \
    --main_steps 2 \
    --vocoder hifigan-lj \
    --eval_args "--f0-method dio" \
    --nj 2 \
    --train_jobs 1 \
    --stop_stage 8 \
    "$@"
