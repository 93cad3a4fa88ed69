#!/usr/bin/env bash
# A new language, end to end and offline: Catalan recordings in a folder (local/data.sh speaks
# them with festival's ona voice) trained with the `folder` corpus and espeak-ng's `ca`
# phonemes: 237 utterances (207 train, 10 val, 20 test), one delta system, 400 steps. The
# symbol table is the one Catalan's phonemes use, stored in the checkpoint. pocketsphinx is an
# English recogniser, so the WER column means nothing here: read DNSMOS and mel FD (against the
# copy synthesis row). Measured: 25 min on 2 cores shared with other runs (speaking 0.5 min,
# features 0.5 min, training 7.7 min, synthesis and evaluation the rest).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
. ./path.sh

[ -f data/ona/metadata.csv ] || PYTHONPATH="../..${PYTHONPATH:+:$PYTHONPATH}" bash local/data.sh data/ona

../../recipes/tts.sh \
    --corpus folder \
    --data_dir data/ona \
    --language ca \
    --n_val 10 --n_test 20 \
    --criteria delta \
    --conf_dir conf \
    --inference_steps "0 2" \
    --main_steps 2 \
    --vocoder hifigan-lj \
    --eval_args "--f0-method dio" \
    --nj 2 \
    --train_jobs 1 \
    --stop_stage 8 \
    "$@"
