#!/usr/bin/env bash
# LJSpeech-1.1 (downloaded, 2.6 GB) with the standard 12500/100/500 split: all five criteria
# (delta, dsm, nce, ssm and the flow-matching peer fm), GPU-sized configs in conf/ (base.yaml and
# one file per criterion), HiFi-GAN vocoder, the sampler-steps sweep of the paper.
# Extra options override these, e.g. `bash egs/ljspeech/run.sh --stage 3 --criteria delta`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
. ./path.sh

../../recipes/tts.sh \
    --corpus ljspeech \
    --download true \
    --criteria "delta dsm fm nce ssm" \
    --conf_dir conf \
    --inference_steps "1 2 4 10" \
    --main_steps 4 \
    --nj "$(nproc)" \
    "$@"
