#!/usr/bin/env bash
# The shipped CPU voice (docs/results/voice_2026-12-08): delta on the LJSpeech stand-in (festival
# slt speaking LJSpeech's 13 100 texts; the standard 12 500 / 100 / 500 split), trained on two
# CPU cores. Needs the stand-in's dump (run.sh --data_dir data/standin --dump_dir dump/standin
# --stop_stage 2). Stages, each resumable (finished units are skipped):
#   compare   the short comparison: conf/cpu_voice/compare_*.yaml trained for one CPU budget
#             each (steps = budget / the measured step cost), judged on the first 30 val
#             sentences at K = 0 and 2
#   train     the long run, conf/cpu_voice/delta.yaml (resumes from last.ckpt; kill it any time)
#   curve     the val set's copy synthesis (its ceiling), then every kept checkpoint of
#             CURVE_STEPS judged on the 100 val sentences at K = 0, 2
#   tune      the final checkpoint's (exp/voice/final.ckpt, a link to the chosen step) sampler
#             settings (GRID) on the 100 val sentences; the tuning rule of benchmarks/tune.py
#             picks one into exp/voice/chosen.yaml
#   test      the final checkpoint at the chosen setting and μ alone, and the copy synthesis
#             (the ceiling), judged once on the 500 test sentences
#   unseen    the same on the held-out `unseen` sentences (never used for a choice)
#   package   tts-ebm package-voice into tts_ebm/voices/slt (card: local/voice_card.md)
#   bash local/voice.sh compare|train|curve|tune|test|unseen|package
#   WORKERS=1 bash local/voice.sh curve     # on the core the one-thread training leaves free
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. ./path.sh

dump=dump/standin
exp=exp/voice
conf=conf/cpu_voice
CANDIDATES="b8_lr2e-3 b16_lr2e-3 b32_lr2e-3 b16_lr1e-3"
BUDGET_CPU_S=${BUDGET_CPU_S:-600}   # per candidate of the comparison: 10 CPU-minutes
CURVE_STEPS="1000 2000 4000 8000 12000 16000"
# the sampler settings tuned on val: "name: sampler mapping" (K, tau of the start sample
# mu + tau*eps, step size 1/K unless said); K0 is mu alone, the baseline of the others
GRID=(
    "K0: {steps: 0, temperature: 0}"
    "K1_tau0: {steps: 1, temperature: 0}"
    "K2_tau0: {steps: 2, temperature: 0}"
    "K2_tau0.1: {steps: 2, temperature: 0.1}"
    "K2_tau0_eta0.25: {steps: 2, temperature: 0, step_size: 0.25}"
    "K4_tau0: {steps: 4, temperature: 0}"
)
WORKERS=${WORKERS:-2}  # cores for synthesis and judging (1 beside the one-thread training)
EVAL=(--f0-method dio --dnsmos-models p808 --workers "$WORKERS" --no-progress)

# split_set SPLIT [N]: $dump/SPLIT_text.txt (id|text, the first N) and SPLIT_ref_wavs/ links
split_set() {
    local split=$1 n=${2:-100000} text=$dump/$1_text${2:+_$2}.txt refs=$dump/$1_ref_wavs
    [ -s "$text" ] || awk -F'\t' -v n="$n" 'NR > 1 && NR <= n + 1 { print $1 "|" $4 }' \
        "$dump/$split.tsv" >"$text"
    if [ ! -e "$refs/.done" ]; then
        mkdir -p "$refs"
        awk -F'\t' 'NR == FNR { if (FNR > 1) keep[$1] = 1; next }
                    FNR > 1 && ($1 in keep) { print $1 "\t" $2 }' \
            "$dump/$split.tsv" "data/standin/manifests/$split.tsv" |
            while IFS=$'\t' read -r utt audio; do ln -sf "$audio" "$refs/$utt.wav"; done
        touch "$refs/.done"
    fi
    echo "$text"
}

# judge CHECKPOINT TEXT REFS OUT [synthesize options...]: synthesis with hifigan-lj and both
# MOS judges, WER and log-F0 into OUT/eval/metrics.json
judge() {
    local checkpoint=$1 text=$2 refs=$3 out=$4
    shift 4
    [ -e "$out/eval/.done" ] && return 0
    echo "$(date '+%H:%M:%S') judge $out: $*"
    tts-ebm synthesize --checkpoint "$checkpoint" --text-file "$text" --out "$out/synth" \
        --seed 0 --save-mel --vocoder hifigan-lj --threads "$WORKERS" "$@" >/dev/null
    tts-ebm evaluate --reference "$refs" --synthesized "$out/synth" --text-file "$text" \
        --out "$out/eval/metrics.json" --reference-features "$exp/reference_features" \
        --reference-mels "$dump/mels" "${EVAL[@]}" >/dev/null
    touch "$out/eval/.done"
}

# copy_synthesis TEXT REFS OUT: the reference mels through the same vocoder, judged (the ceiling)
copy_synthesis() {
    local text=$1 refs=$2 out=$3
    [ -e "$out/eval/.done" ] && return 0
    tts-ebm vocode --mels "$dump/mels" --ids "$text" --out "$out/synth" --vocoder hifigan-lj \
        >/dev/null
    tts-ebm evaluate --reference "$refs" --text-file "$text" --synthesized "$out/synth" \
        --out "$out/eval/metrics.json" --reference-features "$exp/reference_features" \
        "${EVAL[@]}" >/dev/null
    touch "$out/eval/.done"
}

train() {  # train CONFIG OUT [overrides...]
    local config=$1 out=$2
    shift 2
    local resume=()
    [ -f "$out/checkpoints/last.ckpt" ] && resume=(--resume)
    [ -f "$out/train_summary.json" ] && return 0
    tts-ebm train --config "$config" --out "$out" --no-progress "${resume[@]}" \
        "data.dump_dir=$PWD/$dump" "$@" >>"$out.log" 2>&1
}

case "${1:?usage: local/voice.sh compare|train|curve|tune|test|unseen|package}" in
    compare)
        costs=$exp/compare/step_costs.md
        mkdir -p "$exp/compare"
        if [ ! -s "$costs" ]; then  # seconds per step on one thread, two configs at a time
            python ../../benchmarks/train_step_cost.py --dump "$dump" --conf-dir "$conf" \
                --configs delta compare_b8_lr2e-3 compare_b32_lr2e-3 --jobs 2 --steps 40 \
                >"$costs.tmp"
            mv "$costs.tmp" "$costs"
        fi
        for c in $CANDIDATES; do
            # delta.yaml is batch 16: the cost of every batch-16 candidate (the LR costs nothing)
            timed=$([ "${c%%_*}" = b16 ] && echo delta || echo "compare_$c")
            seconds=$(awk -F' *[|] *' -v c="$timed" '$2 == c { print $3 }' "$costs")
            steps=$(python -c "print(round($BUDGET_CPU_S / $seconds))")
            echo "$c: $seconds s a step on one thread, $steps steps"
            train "$conf/compare_$c.yaml" "$exp/compare/$c" "trainer.max_steps=$steps" \
                "trainer.val_every=$steps" "trainer.ckpt_every=$steps" trainer.cpu_threads=1 &
            [ "$(jobs -r | wc -l)" -ge 2 ] && wait -n
        done
        wait
        text=$(split_set val 30)
        for c in $CANDIDATES; do  # μ alone: what a short budget shapes; the steps come later
            judge "$exp/compare/$c/checkpoints/last.ckpt" "$text" "$dump/val_ref_wavs" \
                "$exp/compare/$c/K0" --steps 0 --temperature 0
        done ;;
    train)
        mkdir -p "$exp"
        train "$conf/delta.yaml" "$exp/train" ;;
    tune)
        text=$(split_set val)
        for entry in "${GRID[@]}"; do
            out=$exp/tune/${entry%%:*}
            mkdir -p "$out"
            echo "sampler: ${entry#*: }" >"$out/sampler.yaml"
            judge "$exp/final.ckpt" "$text" "$dump/val_ref_wavs" "$out" \
                --sampler-config "$out/sampler.yaml"
        done
        python ../../benchmarks/voice_report.py "$exp" --choose "$exp/chosen.yaml" | tail -1 ;;
    test)
        text=$(split_set test)
        [ -f "$exp/chosen.yaml" ] || { echo "no $exp/chosen.yaml: run the tune stage" >&2; exit 1; }
        judge "$exp/final.ckpt" "$text" "$dump/test_ref_wavs" "$exp/test/K0" --steps 0 \
            --temperature 0
        judge "$exp/final.ckpt" "$text" "$dump/test_ref_wavs" "$exp/test/chosen" \
            --sampler-config "$exp/chosen.yaml"
        copy_synthesis "$text" "$dump/test_ref_wavs" "$exp/test/copy_synthesis" ;;
    unseen)  # the demo's held-out sentences, spoken by the same festival voice
        unseen=../mini/data/unseen/dump
        [ -s "$unseen/test_text.txt" ] || { echo "no $unseen: run egs/mini/local/pitch_sweep.sh --unseen first" >&2; exit 1; }
        for setting in K0 chosen; do
            options=(--sampler-config "$exp/chosen.yaml")
            [ "$setting" = K0 ] && options=(--steps 0 --temperature 0)
            [ -e "$exp/unseen/$setting/eval/.done" ] && continue
            tts-ebm synthesize --checkpoint "$exp/final.ckpt" --text-file "$unseen/test_text.txt" \
                --out "$exp/unseen/$setting/synth" --seed 0 --save-mel --vocoder hifigan-lj \
                "${options[@]}" >/dev/null
            tts-ebm evaluate --reference "$unseen/test_ref_wavs" --text-file "$unseen/test_text.txt" \
                --synthesized "$exp/unseen/$setting/synth" \
                --out "$exp/unseen/$setting/eval/metrics.json" --reference-mels "$unseen/mels" \
                "${EVAL[@]}" >/dev/null
            touch "$exp/unseen/$setting/eval/.done"
        done ;;
    package)
        tts-ebm package-voice --checkpoint "$exp/final.ckpt" --sampler-config "$exp/chosen.yaml" \
            --card local/voice_card.md --precision "${PRECISION:-fp16}" \
            --out ../../tts_ebm/voices/slt ;;
    curve)
        text=$(split_set val)
        copy_synthesis "$text" "$dump/val_ref_wavs" "$exp/curve/copy_synthesis"
        for step in $CURVE_STEPS; do
            checkpoint=$(printf '%s/train/checkpoints/step%08d.ckpt' "$exp" "$step")
            [ -f "$checkpoint" ] || continue
            for k in 0 2; do
                judge "$checkpoint" "$text" "$dump/val_ref_wavs" "$exp/curve/$step/K$k" \
                    --steps "$k" --temperature 0
            done
        done ;;
    *)
        echo "unknown stage $1" >&2; exit 2 ;;
esac
