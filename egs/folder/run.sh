#!/usr/bin/env bash
# TEMPLATE for your own recordings: copy this folder (cp -r egs/folder egs/my_voice) and run
#   bash egs/my_voice/run.sh --data_dir /path/to/my_voice --language en-us
# where /path/to/my_voice holds metadata.csv (id|text or id|text|normalised lines) and
# wavs/<id>.wav (any sample rate, mono or stereo). Stage 1 splits it (kept in
# /path/to/my_voice/manifests/split.json) and checks it (check_data.txt there; a faulty
# utterance stops the recipe, naming it). Edit conf/delta.yaml for more steps or a bigger model;
# add `finetune: {init_from: BASE.ckpt}` to it to fine-tune a trained model of the same language.
# Extra options override these, e.g. `--stage 3`, `--n_test 50`, `--vocoder hifigan-universal`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
. ./path.sh

../../recipes/tts.sh \
    --corpus folder \
    --n_val 10 --n_test 20 \
    --criteria delta \
    --conf_dir conf \
    --inference_steps "0 2 4" \
    --main_steps 2 \
    --vocoder hifigan-universal \
    --nj 2 \
    --stop_stage 8 \
    "$@"
