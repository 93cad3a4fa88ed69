#!/usr/bin/env bash
# LJSpeech-1.1 (downloaded, 2.6 GB, unless --data_dir already holds it or the stand-in of
# `make ljspeech-standin`) with the standard 12500/100/500 split: all five criteria (delta dsm
# nce ssm and the flow-matching peer fm), GPU-sized configs in conf/ (base.yaml and one file
# per criterion), HiFi-GAN vocoder, the
# prior mean alone (K = 0) and the sampler-steps sweep of the paper, a 20-sentence listening
# test, the contest of stage 9.
# DNSMOS runs its P.808 model alone, as in the mini recipes (P.835 was 90 % of DNSMOS's time).
# See README.md beside this file (GPU and CPU runs, the CPU overrides, the figures to expect).
# Extra options override these, e.g. `bash egs/ljspeech/run.sh --stage 3 --criteria delta`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
. ./path.sh

../../recipes/tts.sh \
    --corpus ljspeech \
    --download true \
    --criteria "delta dsm nce ssm fm" \
    --conf_dir conf \
    --inference_steps "0 1 2 4 10" \
    --main_steps 4 \
    --listening_utterances 20 \
    --eval_args "--dnsmos-models p808" \
    --nj "$(nproc)" \
    "$@"
