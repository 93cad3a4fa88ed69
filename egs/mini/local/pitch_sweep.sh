#!/usr/bin/env bash
# The pitch sweep (docs/results/pitch_sweep_2026-12-07): which variance adaptor gives μ a pitch
# contour, and which sampler settings then make the energy steps beat μ on both MOS judges.
# Everything is judged on the held-out `dev` set (60 sentences no corpus trains on and no test
# set holds, data_prep/heldout.py); the demo's test set is not touched.
#   1. the demo corpus and dump (stages 1-2 of run.sh) and the dev set with its features;
#   2. one delta run per design in conf/pitch_sweep/ (the demo's config and 700 steps, one
#      thread each, two at a time), synthesised at K in {0, 2} and judged (recipe stages 3-6);
#   3. with --grid SYSTEM: that system's checkpoint synthesised and judged at every sampler
#      setting of GRID below (the demo's K = 2, τ = 0.3 and five around it), into
#      exp/pitch_sweep/SYSTEM/grid/<setting>/;
#   4. with --unseen SYSTEM SETTING: μ alone and that setting on the `unseen` sentences (written
#      for this project, in no corpus), the check that a gain generalises; never used to choose.
# Resumable: finished units are skipped. About 60 min on 2 cores for 1-2, 2 min a setting for 3.
#   bash local/pitch_sweep.sh                 # 1-2
#   bash local/pitch_sweep.sh --grid fr_cont  # 3
#   bash local/pitch_sweep.sh --unseen fr_cont K2_tau0.1  # 4
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. ./path.sh

exp=exp/pitch_sweep
dev=data/dev
designs="none ph_cont ph_quant_en fr_cont fr_quant fr_cont_en"
# "name: synthesize options" (K and tau of the start sample mu + tau*eps; step size 1/K unless said)
GRID=(
    "K1_tau0: --steps 1 --temperature 0"
    "K1_tau0_eta0.5: --steps 1 --temperature 0 --step-size 0.5"
    "K2_tau0: --steps 2 --temperature 0"
    "K2_tau0.1: --steps 2 --temperature 0.1"
    "K4_tau0.1: --steps 4 --temperature 0.1"
    "K2_tau0.3: --steps 2 --temperature 0.3"
)

# heldout SET: data/SET spoken by the demo's voice, its features, test texts and reference links
heldout() {
    local dir=data/$1
    [ -e "$dir/dump/test_ref_wavs/.done" ] && return 0
    python -m data_prep.heldout --set "$1" --out "$dir" --workers 2
    tts-ebm prepare features --manifest-dir "$dir/manifests" --out "$dir/dump" --workers 2
    awk -F'\t' 'NR > 1 { print $1 "|" $4 }' "$dir/dump/test.tsv" >"$dir/dump/test_text.txt"
    mkdir -p "$dir/dump/test_ref_wavs"
    awk -F'\t' 'NR > 1 { print $1 "\t" $2 }' "$dir/manifests/test.tsv" |
        while IFS=$'\t' read -r utt audio; do ln -sf "$audio" "$dir/dump/test_ref_wavs/$utt.wav"; done
    touch "$dir/dump/test_ref_wavs/.done"
}

if [ $# -eq 0 ]; then
    bash run.sh --stop_stage 2
    heldout dev
    ../../recipes/tts.sh --stage 2 --stop_stage 6 --corpus folder --data_dir "$dev" \
        --dump_dir "$dev/dump" --exp_dir "$exp" --conf_dir conf/pitch_sweep --criteria "$designs" \
        --train_args "data.dump_dir=$PWD/dump trainer.cpu_threads=1" --train_jobs 2 \
        --inference_steps "0 2" --main_steps 2 --vocoder hifigan-lj \
        --eval_args "--f0-method dio --dnsmos-models p808" --judge_recordings true --nj 2
    exit 0
fi

# judge SYSTEM SET NAME OPTIONS...: SYSTEM's checkpoint synthesised on SET (dev | unseen) with the
# synthesize OPTIONS and judged, into $exp/SYSTEM/<grid | unseen>/NAME/
judge() {
    local system=$1 set=$2 name=$3 data=data/$2/dump
    shift 3
    local checkpoint="$exp/$system/train/checkpoints/last.ckpt"
    local out="$exp/$system/$([ "$set" = dev ] && echo grid || echo "$set")/$name"
    [ -f "$checkpoint" ] || { echo "no checkpoint $checkpoint: run the sweep first" >&2; exit 1; }
    [ -e "$out/eval/.done" ] && return 0
    echo "$(date '+%H:%M:%S') $system $set $name: $*"
    tts-ebm synthesize --checkpoint "$checkpoint" --text-file "$data/test_text.txt" \
        --out "$out/synth" --seed 0 --save-mel --vocoder hifigan-lj "$@"
    tts-ebm evaluate --reference "$data/test_ref_wavs" --synthesized "$out/synth" \
        --text-file "$data/test_text.txt" --out "$out/eval/metrics.json" --workers 2 \
        --reference-features "$exp/reference_$set/features" --reference-mels "$data/mels" \
        --f0-method dio --dnsmos-models p808 --no-progress >/dev/null
    touch "$out/eval/.done"
}

case "$1" in
    --grid)
        system=${2:?--grid needs a system of conf/pitch_sweep}
        for entry in "${GRID[@]}"; do
            read -r -a options <<<"${entry#*:}"
            judge "$system" dev "${entry%%:*}" "${options[@]}"
        done ;;
    --unseen)
        system=${2:?--unseen needs a system and a setting of GRID}
        for entry in "${GRID[@]}"; do
            [ "${entry%%:*}" = "${3:?}" ] || continue
            read -r -a options <<<"${entry#*:}"
            heldout unseen
            judge "$system" unseen K0 --steps 0 --temperature 0
            judge "$system" unseen "$3" "${options[@]}"
            exit 0
        done
        echo "no setting $3 in GRID" >&2; exit 1 ;;
esac
