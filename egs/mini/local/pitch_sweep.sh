#!/usr/bin/env bash
# The pitch sweep (docs/results/pitch_sweep_2026-12-07): which variance adaptor gives μ a pitch
# contour, and which sampler settings then make the energy steps beat μ on both MOS judges.
# Everything is judged on the held-out `dev` set (60 sentences no corpus trains on and no test
# set holds, data_prep/heldout.py); the demo's test set is not touched.
#   1. the demo corpus and dump (stages 1-2 of run.sh) and the dev set with its features;
#   2. one delta run per design in conf/pitch_sweep/ (the demo's config and 700 steps, one
#      thread each, two at a time), synthesised at K in {0, 2} and judged (recipe stages 3-6);
#   3. with --grid SYSTEM: that system's checkpoint synthesised and judged at every sampler
#      setting of GRID below (the demo's K = 2, τ = 0.3 and four around it), into
#      exp/pitch_sweep/SYSTEM/grid/<setting>/.
# Resumable: finished units are skipped. About 60 min on 2 cores for 1-2, 2 min a setting for 3.
#   bash local/pitch_sweep.sh                 # 1-2
#   bash local/pitch_sweep.sh --grid fr_cont  # 3
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. ./path.sh

exp=exp/pitch_sweep
dev=data/dev
designs="none ph_cont ph_quant_en fr_cont fr_quant fr_cont_en"
# "name: synthesize options" (K and tau of the start sample mu + tau*eps; step size 1/K unless said)
GRID=(
    "K1_tau0: --steps 1 --temperature 0"
    "K2_tau0: --steps 2 --temperature 0"
    "K2_tau0.1: --steps 2 --temperature 0.1"
    "K4_tau0.1: --steps 4 --temperature 0.1"
    "K2_tau0.3: --steps 2 --temperature 0.3"
)

if [ "${1:-}" != --grid ]; then
    bash run.sh --stop_stage 2
    if [ ! -e "$dev/dump/.done" ]; then
        python -m data_prep.heldout --set dev --out "$dev" --workers 2
        tts-ebm prepare features --manifest-dir "$dev/manifests" --out "$dev/dump" --workers 2
        date '+%Y-%m-%dT%H:%M:%S' >"$dev/dump/.done"
    fi
    ../../recipes/tts.sh --stage 2 --stop_stage 6 --corpus folder --data_dir "$dev" \
        --dump_dir "$dev/dump" --exp_dir "$exp" --conf_dir conf/pitch_sweep --criteria "$designs" \
        --train_args "data.dump_dir=$PWD/dump trainer.cpu_threads=1" --train_jobs 2 \
        --inference_steps "0 2" --main_steps 2 --vocoder hifigan-lj \
        --eval_args "--f0-method dio --dnsmos-models p808" --judge_recordings true --nj 2
    exit 0
fi

system=${2:?--grid needs a system of conf/pitch_sweep}
checkpoint="$exp/$system/train/checkpoints/last.ckpt"
[ -f "$checkpoint" ] || { echo "no checkpoint $checkpoint: run the sweep first" >&2; exit 1; }
for entry in "${GRID[@]}"; do
    name=${entry%%:*}
    read -r -a options <<<"${entry#*:}"
    out="$exp/$system/grid/$name"
    [ -e "$out/eval/.done" ] && continue
    echo "$(date '+%H:%M:%S') $system $name: ${options[*]}"
    tts-ebm synthesize --checkpoint "$checkpoint" --text-file "$dev/dump/test_text.txt" \
        --out "$out/synth" --seed 0 --save-mel --vocoder hifigan-lj "${options[@]}"
    tts-ebm evaluate --reference "$dev/dump/test_ref_wavs" --synthesized "$out/synth" \
        --text-file "$dev/dump/test_text.txt" --out "$out/eval/metrics.json" --workers 2 \
        --reference-features "$exp/reference/features" --reference-mels "$dev/dump/mels" \
        --f0-method dio --dnsmos-models p808 --no-progress >/dev/null
    touch "$out/eval/.done"
done
