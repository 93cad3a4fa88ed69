#!/usr/bin/env bash
# Generic staged recipe for energy-based TTS (ESPnet egs2/TEMPLATE style).
# Called by egs/<corpus>/run.sh with the corpus options; see `recipes/tts.sh --help`.
#
# Every unit of work (a corpus, a feature dump, one training run, one synthesis or evaluation
# per criterion and K) writes a `.done` marker into its output folder only when it succeeded;
# a rerun skips finished units, so an interrupted recipe continues where it stopped (training
# resumes from last.ckpt). Delete a unit's folder (or its .done) to redo it.
set -euo pipefail

log() { echo -e "$(date '+%Y-%m-%dT%H:%M:%S') (tts.sh) $*"; }

SECONDS=0
run_args="$*"

# General configuration
stage=1                # first stage to run
stop_stage=9           # last stage to run
corpus=mini            # a corpus plug-in: mini | ljspeech | folder (`tts-ebm prepare --help`)
nj=2                   # parallel processes: corpus, features, synthesis and evaluation units
python=python3         # interpreter for the report (the one tts-ebm is installed in)

# Directories (relative paths are relative to the current directory, i.e. egs/<corpus>/)
data_dir=data          # corpora and manifests (folder: your recordings, metadata.csv + wavs/)
dump_dir=dump          # features (tts-ebm prepare features)
exp_dir=exp            # experiments, logs, RESULTS.md
conf_dir=conf          # one training config per criterion: <conf_dir>/<criterion>.yaml

# Stage 1: data. Options left empty are not passed, so the corpus's own default applies;
# a corpus that has no such option refuses it (see `tts-ebm prepare CORPUS --help`).
download=""            # true: ljspeech downloads LJSpeech-1.1 when it is not under data_dir
voice=""               # mini corpus voice: hts-slt (festival, CMU ARCTIC slt) | espeak
language=""            # folder: espeak-ng language code of the text (default en-us)
n_train=""             # split sizes (mini: 240/12/12; folder: the rest/10/20)
n_val=""
n_test=""
corpus_args=""         # any other `tts-ebm prepare CORPUS` options, e.g. "--seed 1"
check_data=true        # stage 1 ends with tts-ebm check-data; faults stop the recipe

# Stage 3: training
criteria="delta dsm"   # criteria to train, each with <conf_dir>/<criterion>.yaml (delta dsm fm nce ssm);
                       # <name>_seed<N>: <name>.yaml again with trainer.seed=N (seed noise)
train_args=""          # extra `tts-ebm train` overrides, e.g. "trainer.max_steps=200"
train_jobs=1           # training runs at a time (CPU: one per core, each on one thread)
budget_steps=""        # equal training compute: a budget in steps of cost 1 (one delta step),
                       # each config trains round(budget / its cost) steps (empty: its max_steps)
step_costs=""          # "config=cost ..." one step's cost relative to delta's, for every config
                       # in --criteria (benchmarks/train_step_cost.py measures whole steps)
chosen=""              # folder of settings chosen on the tune set (benchmarks/tune.py's OUT/chosen):
                       # per config its sampler config <config>.yaml (tts_ebm/sampler_config.py:
                       # K and sampler options, and the training overrides they were chosen with).
                       # Stages 3-9 use them and synthesise and judge K = 0 and the chosen K only;
                       # <name>_seed<N> (the same system, another training seed) takes <name>'s
mu_criteria=""         # with --chosen: the configs also judged at K = 0, mu alone (empty: all of
                       # them); ablations and seed runs may skip it to save evaluation time

# Stages 4-7: inference, evaluation, report, listening test
inference_steps="0 1 2 4 10" # sampler steps K to synthesise and evaluate (0: the prior mean mu alone)
main_steps=4                 # K of the main results table and of the listening test
vocoder=""                   # --vocoder spec (empty: the synthesize default, HiFi-GAN)
inference_args=""            # extra `tts-ebm synthesize` options
eval_args=""                 # extra `tts-ebm evaluate` options, e.g. "--f0-method dio"
judge_recordings=true        # stage 5 also scores the recordings themselves (WER, DNSMOS)
report_pairs=""              # stage 6: "A:B ..." systems compared sentence by sentence (A - B)
listening_format=webmushra-mushra
contest_criteria=""          # stage 9's systems (default: --criteria, when it has fm); each is
                             # synthesised and judged at every contest K, so name few
listening_utterances=""      # stage 7: a seeded random subset of the test set (empty: all of it)
listening_criteria=""        # stage 7: the systems of the listening test (empty: --criteria);
                             # a MUSHRA page holds at most 12 conditions, anchors included

help_message=$(cat <<EOF
Usage: $0 [options]   (options --name value, also --name=value; dashes or underscores)
Stages:
  1 data        prepare the corpus and its manifests, then tts-ebm check-data on them (a
                fault stops here with a report naming each utterance; --check_data false skips)
  2 features    tts-ebm prepare features; test-set text file and reference wav folder
  3 train       one tts-ebm train run per criterion (resumes from last.ckpt); with --chosen,
                each with its chosen training overrides
  4 synthesize  test set for every criterion and K in --inference_steps (wavs and mels), and
                the copy synthesis: the test set's reference mels through the same --vocoder
  5 evaluate    tts-ebm evaluate for every criterion and K, the copy synthesis and (unless
                --judge_recordings false) the recordings themselves (WER and DNSMOS only)
  6 report      exp/RESULTS.md, exp/quality_vs_steps.png, exp/quality_vs_time.png (always
                regenerated); --report_pairs adds paired differences between systems
  7 listening   tts-ebm export-listening-test of the K=--main_steps systems (--listening_criteria,
                default --criteria) and the first one's prior mean alone (K=0, when synthesised)
  8 samples     exp/samples/index.html: every system's audio and mels side by side (always
                regenerated)
  9 contest     --contest_criteria (default: --criteria when it has fm and another criterion):
                benchmarks/contest.py on this experiment, timing every acoustic model at the
                K > 0 of --inference_steps (and each chosen K) on --nj threads; with --chosen,
                each system at its chosen K against the others at equal time;
                exp/contest/CONTEST.md and contest.png (skipped otherwise)
Corpora: mini (offline festival voice), ljspeech (LJSpeech-1.1), folder (your recordings:
  --corpus folder --data_dir PATH, PATH/metadata.csv with id|text lines and PATH/wavs/<id>.wav;
  the seeded split is kept in PATH/manifests/split.json). Fine-tuning: --train_args
  "--init-from BASE.ckpt" (see: tts-ebm train --help).
Options (default):
  --stage ($stage) --stop_stage ($stop_stage) --corpus ($corpus) --nj ($nj) --python ($python)
  --data_dir ($data_dir) --dump_dir ($dump_dir) --exp_dir ($exp_dir) --conf_dir ($conf_dir)
  --download ("$download") --voice ("$voice") --language ("$language") --n_train ("$n_train")
  --n_val ("$n_val") --n_test ("$n_test") --corpus_args ("$corpus_args") --check_data ($check_data)
  --criteria ("$criteria") --train_args ("$train_args") --train_jobs ($train_jobs)
  --budget_steps ("$budget_steps") --step_costs ("$step_costs") --chosen ("$chosen")
  --mu_criteria ("$mu_criteria")
  --inference_steps ("$inference_steps") --main_steps ($main_steps) --vocoder ("$vocoder")
  --inference_args ("$inference_args") --eval_args ("$eval_args") --judge_recordings ($judge_recordings)
  --report_pairs ("$report_pairs")
  --listening_format ($listening_format) --listening_utterances ("$listening_utterances")
  --listening_criteria ("$listening_criteria")
  --contest_criteria ("$contest_criteria")
EOF
)

# Option parsing (what Kaldi's utils/parse_options.sh does): --foo-bar X sets foo_bar=X for
# variables declared above; unknown options are errors.
while [ $# -gt 0 ]; do
    case "$1" in
        --help|-h) echo "$help_message"; exit 0 ;;
        --*=*) name="${1%%=*}"; value="${1#*=}"; shift ;;
        --*)
            [ $# -ge 2 ] || { echo "$0: option $1 needs a value" >&2; exit 2; }
            name="$1"; value="$2"; shift 2 ;;
        *) echo "$0: unexpected argument '$1' (see --help)" >&2; exit 2 ;;
    esac
    name="${name#--}"; name="${name//-/_}"
    case "$name" in
        stage|stop_stage|corpus|nj|python|data_dir|dump_dir|exp_dir|conf_dir|download|voice|\
        language|corpus_args|check_data|n_train|n_val|n_test|criteria|train_args|train_jobs|budget_steps|\
        step_costs|chosen|mu_criteria|inference_steps|main_steps|vocoder|\
        inference_args|eval_args|judge_recordings|report_pairs|listening_format|listening_utterances|\
        listening_criteria|\
        contest_criteria)
            printf -v "$name" '%s' "$value" ;;
        *) echo "$0: unknown option --$name (see --help)" >&2; exit 2 ;;
    esac
done

case "$download" in true|false|"") ;; *) echo "$0: --download must be true or false" >&2; exit 2 ;; esac
case "$check_data" in true|false) ;; *) echo "$0: --check_data must be true or false" >&2; exit 2 ;; esac
case "$judge_recordings" in true|false) ;; *) echo "$0: --judge_recordings must be true or false" >&2; exit 2 ;; esac
command -v tts-ebm >/dev/null || { echo "$0: tts-ebm is not on PATH (activate the venv)" >&2; exit 2; }
# The corpus plug-in says where its corpus and manifests live; an unknown corpus fails here.
dirs=$(tts-ebm prepare "$corpus" --data-dir "$data_dir" --print-dirs 2>&1) || {
    echo "$0: --corpus $corpus: $(tail -n 1 <<<"$dirs")" >&2; exit 2; }
IFS=$'\t' read -r corpus_dir manifest_dir <<<"$dirs"

recipes_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
log_dir="$exp_dir/logs"
copy_synthesis_dir="$exp_dir/copy_synthesis" # ceiling row: the test set's reference mels vocoded
reference_dir="$exp_dir/reference"           # ceiling row: the recordings themselves
test_text="$dump_dir/test_text.txt"      # id|text lines of the test set
test_ref="$dump_dir/test_ref_wavs"       # <id>.wav links to the test recordings
mkdir -p "$log_dir"
log "$0 $run_args"

run_stage() { [ "$stage" -le "$1" ] && [ "$stop_stage" -ge "$1" ]; }

# run_unit STAGE NAME DONE_FILE COMMAND... : skip when DONE_FILE exists, else run COMMAND with
# its output in exp/logs/stage<STAGE>_<NAME>.log and write DONE_FILE only on success.
run_unit() {
    local stage_no=$1 name=$2 done_file=$3
    shift 3
    local log_file="$log_dir/stage${stage_no}_${name}.log"
    if [ -e "$done_file" ]; then
        log "stage $stage_no: $name already done, skipping ($done_file)"
        return 0
    fi
    log "stage $stage_no: $name -> log: $log_file"
    local status=0
    set +e  # errexit is ignored inside an `if` condition; a plain subshell keeps it
    ( set -e; "$@" ) >"$log_file" 2>&1
    status=$?
    set -e
    if [ "$status" -ne 0 ]; then
        echo "ERROR: stage $stage_no ($name) failed (exit $status); see the log: $log_file" >&2
        # a progress bar's line holds every update after a \r: keep the last, as a terminal does
        tail -n 20 "$log_file" | sed 's/.*\r//; s/^/  | /' >&2
        exit 1
    fi
    mkdir -p "$(dirname "$done_file")"
    date '+%Y-%m-%dT%H:%M:%S' >"$done_file"
}

# Units of one stage that are independent run in the background, at most JOBS at a time:
# `start_unit JOBS run_unit ...` launches one, `wait_units STAGE` waits for all of them and stops
# the recipe if any failed (run_unit has already printed which and where its log is).
units_running=0 units_failed=0
start_unit() {
    local jobs=$1
    shift
    "$@" &
    units_running=$((units_running + 1))
    if [ "$units_running" -ge "$jobs" ]; then
        wait -n || units_failed=1
        units_running=$((units_running - 1))
    fi
}
wait_units() {
    while [ "$units_running" -gt 0 ]; do
        wait -n || units_failed=1
        units_running=$((units_running - 1))
    done
    [ "$units_failed" -eq 0 ] || { echo "ERROR: stage $1: a unit failed (see above)" >&2; exit 1; }
}

prepare_data() {
    local opts=()
    [ "$download" = true ] && opts+=(--download)
    [ -n "$voice" ] && opts+=(--voice "$voice")
    [ -n "$language" ] && opts+=(--language "$language")
    [ -n "$n_train" ] && opts+=(--n-train "$n_train")
    [ -n "$n_val" ] && opts+=(--n-val "$n_val")
    [ -n "$n_test" ] && opts+=(--n-test "$n_test")
    # shellcheck disable=SC2086  # corpus_args is a list of options
    tts-ebm prepare "$corpus" --data-dir "$corpus_dir" --manifest-dir "$manifest_dir" \
        --workers "$nj" "${opts[@]}" $corpus_args
    if [ "$check_data" = true ]; then
        tts-ebm check-data "$manifest_dir" --report "$manifest_dir/check_data.txt"
    fi
}

# The test set is what was extracted (DUMP/test.tsv: id n_frames phonemes text); the
# recordings come from the manifest (id audio text).
prepare_test_set() {
    rm -rf "$test_ref" && mkdir -p "$test_ref"
    awk -F'\t' 'NR > 1 { print $1 "|" $4 }' "$dump_dir/test.tsv" >"$test_text.tmp"
    if [ ! -s "$test_text.tmp" ]; then echo "no test utterances in $dump_dir/test.tsv"; exit 1; fi
    awk -F'\t' 'NR == FNR { if (FNR > 1) keep[$1] = 1; next }
                FNR > 1 && ($1 in keep) { print $1 "\t" $2 }' \
        "$dump_dir/test.tsv" "$manifest_dir/test.tsv" |
        while IFS=$'\t' read -r utt_id audio; do ln -s "$audio" "$test_ref/$utt_id.wav"; done
    echo "$(wc -l <"$test_text.tmp") test utterances, $(ls "$test_ref" | wc -l) reference wavs"
    mv "$test_text.tmp" "$test_text"
}

# Steps of config $1 under --budget_steps: round(budget / cost), the cost from --step_costs
# (a <name>_seed<N> config costs what <name> costs).
budget_max_steps() {
    local cost
    cost=$(tr ' ' '\n' <<<"$step_costs" | awk -F= -v c="${1%_seed*}" '$1 == c { print $2 }')
    [ -n "$cost" ] || { echo "ERROR: --budget_steps: no cost for ${1%_seed*} in --step_costs" >&2; return 1; }
    awk -v b="$budget_steps" -v c="$cost" 'BEGIN { printf "%d", b / c + 0.5 }'
}

# chosen_config CONFIG: the sampler config --chosen holds for CONFIG (a <name>_seed<N> config
# reads <name>'s); empty without --chosen.
chosen_config() {
    [ -n "$chosen" ] || return 0
    local file="$chosen/${1%_seed*}.yaml"
    [ -f "$file" ] || { echo "ERROR: --chosen: no $file (run benchmarks/tune.py for ${1%_seed*})" >&2; return 1; }
    echo "$file"
}

# chosen_setting CONFIG steps|train: the chosen K, or the training overrides, of CONFIG
# (`key=value` words); empty without --chosen.
chosen_setting() {
    local file
    file=$(chosen_config "$1") || return 1
    [ -z "$file" ] || "$python" -m tts_ebm.sampler_config "$file" "$2"
}

# The K synthesised and judged for config $1: its chosen K (after 0 when --mu_criteria, empty
# meaning all, names it), or --inference_steps.
steps_of() {
    if [ -z "$chosen" ]; then echo "$inference_steps"; return; fi
    local k
    k=$(chosen_setting "$1" steps) || return 1
    if [ -z "$mu_criteria" ] || [[ " $mu_criteria " == *" $1 "* ]]; then echo "0 $k"; else echo "$k"; fi
}

# The training config of $1 (<name>_seed<N> trains <name>.yaml) and its seed override, if any.
config_of() { echo "$conf_dir/${1%_seed*}.yaml"; }
seed_override_of() { [[ "$1" != *_seed* ]] || echo "trainer.seed=${1##*_seed}"; }

# The K of config $1 in the listening test and the samples page: its chosen K, or --main_steps.
main_steps_of() {
    if [ -n "$chosen" ]; then chosen_setting "$1" steps; else echo "$main_steps"; fi
}

train_criterion() {
    local crit=$1 out="$exp_dir/$1/train" resume=() budget=() steps
    [ -f "$out/checkpoints/last.ckpt" ] && resume=(--resume)
    if [ -n "$budget_steps" ]; then  # one validation at the end, checkpoints every third
        steps=$(budget_max_steps "$crit") || return 1
        budget=("trainer.max_steps=$steps" "trainer.val_every=$steps"
                "trainer.ckpt_every=$(( (steps + 2) / 3 ))")
    fi
    local chosen_args
    chosen_args=$(chosen_setting "$crit" train) || return 1
    # shellcheck disable=SC2086  # train_args and chosen_args are lists of key=value overrides
    tts-ebm train --config "$(config_of "$crit")" --out "$out" --no-progress "${resume[@]}" \
        "data.dump_dir=$dump_dir" $train_args $chosen_args $(seed_override_of "$crit") "${budget[@]}"
}

synthesize_test_set() {
    local crit=$1 k=$2 out="$exp_dir/$1/synth_K$2" voc=()
    [ -n "$vocoder" ] && voc=(--vocoder "$vocoder")
    # shellcheck disable=SC2086  # inference_args is a list of options
    # K = 0 with temperature 0 is the prior mean mu alone: the baseline the energy must beat.
    local prior=() sampler=""
    [ "$k" -eq 0 ] && prior=(--temperature 0)
    if [ "$k" -gt 0 ]; then
        sampler=$(chosen_config "$crit") || return 1
        [ -z "$sampler" ] || sampler="--sampler-config $sampler"  # --steps below wins over its K
    fi
    # shellcheck disable=SC2086  # sampler is a list of options
    tts-ebm synthesize --checkpoint "$exp_dir/$crit/train/checkpoints/last.ckpt" \
        --text-file "$test_text" --out "$out" --steps "$k" --seed 0 --save-mel "${voc[@]}" \
        "${prior[@]}" $sampler $inference_args
}

# The ceiling of every acoustic model with this vocoder: the test set's reference mels vocoded.
copy_synthesis() {
    local voc=()
    [ -n "$vocoder" ] && voc=(--vocoder "$vocoder")
    tts-ebm vocode --mels "$dump_dir/mels" --ids "$test_text" --out "$copy_synthesis_dir/synth" \
        "${voc[@]}"
}

# evaluate_test_set OUT_JSON OPTIONS... : tts-ebm evaluate with the test texts (WER) and eval_args
evaluate_test_set() {
    local out=$1
    shift
    # shellcheck disable=SC2086  # eval_args is a list of options
    tts-ebm evaluate "$@" --text-file "$test_text" --out "$out" --workers "$nj" \
        --reference-features "$reference_dir/features" $eval_args
}

if run_stage 1; then
    log "stage 1: data ($corpus)"
    run_unit 1 data "$manifest_dir/.done" prepare_data
fi

if run_stage 2; then
    log "stage 2: features"
    run_unit 2 features "$dump_dir/.done" \
        tts-ebm prepare features --manifest-dir "$manifest_dir" --out "$dump_dir" --workers "$nj"
    run_unit 2 test_set "$test_ref/.done" prepare_test_set
fi

if run_stage 3; then
    log "stage 3: training ($criteria), up to $train_jobs runs at a time"
    for crit in $criteria; do
        [ -f "$(config_of "$crit")" ] || { echo "ERROR: stage 3: no config $(config_of "$crit")" >&2; exit 1; }
        [[ "$crit" != *_seed* || "${crit##*_seed}" =~ ^[0-9]+$ ]] ||
            { echo "ERROR: stage 3: $crit: want <name>_seed<N> with N a number" >&2; exit 1; }
        [ -z "$budget_steps" ] || budget_max_steps "$crit" >/dev/null || exit 1
        chosen_setting "$crit" steps >/dev/null || exit 1
    done
    # Runs are independent: on CPU each uses one thread (trainer.cpu_threads), so train_jobs
    # runs share the cores; on a GPU machine keep 1 unless each run has its own GPU.
    for crit in $criteria; do
        start_unit "$train_jobs" run_unit 3 "train_$crit" "$exp_dir/$crit/train/.done" \
            train_criterion "$crit"
    done
    wait_units 3
fi

if run_stage 4; then
    log "stage 4: synthesis of the test set, K in ($inference_steps)"
    # Few units (the demo's 3 on 2 cores) run one at a time on every core: HiFi-GAN runs 1.96x
    # faster on 2 threads than on 1, where 3 one-thread units left a core idle for the whole
    # third unit. Many units (the bench's 16) run --nj at a time on one thread each: the idle
    # tail is then short, and writing each clip's wav, mel and image does not use a 2nd thread.
    n_units=1
    for crit in $criteria; do n_units=$((n_units + $(steps_of "$crit" | wc -w))); done
    synth_jobs=1
    if [ "$n_units" -ge $((2 * nj)) ]; then synth_jobs=$nj; export OMP_NUM_THREADS=1; fi
    for crit in $criteria; do
        for k in $(steps_of "$crit"); do
            start_unit "$synth_jobs" run_unit 4 "synth_${crit}_K$k" \
                "$exp_dir/$crit/synth_K$k/.done" synthesize_test_set "$crit" "$k"
        done
    done
    start_unit "$synth_jobs" run_unit 4 copy_synthesis "$copy_synthesis_dir/synth/.done" \
        copy_synthesis
    wait_units 4
fi

if run_stage 5; then
    log "stage 5: evaluation"
    # One unit at a time, each scoring its utterances in --nj worker processes (balanced to the
    # last utterance, where units side by side left a core idle behind the longest one). The
    # reference's mel-cepstra and F0 are extracted once, into $reference_dir/features.
    if [ "$judge_recordings" = true ]; then
        run_unit 5 eval_reference "$reference_dir/eval/.done" \
            evaluate_test_set "$reference_dir/eval/metrics.json" --synthesized "$test_ref"
    fi
    run_unit 5 eval_copy_synthesis "$copy_synthesis_dir/eval/.done" \
        evaluate_test_set "$copy_synthesis_dir/eval/metrics.json" --reference "$test_ref" \
        --synthesized "$copy_synthesis_dir/synth"
    for crit in $criteria; do
        for k in $(steps_of "$crit"); do
            run_unit 5 "eval_${crit}_K$k" "$exp_dir/$crit/eval_K$k/.done" \
                evaluate_test_set "$exp_dir/$crit/eval_K$k/metrics.json" --reference "$test_ref" \
                --synthesized "$exp_dir/$crit/synth_K$k" --reference-mels "$dump_dir/mels"
        done
    done
fi

if run_stage 6; then
    log "stage 6: report"
    rm -f "$log_dir/.report.done"  # derived from stages 3-5 and cheap: always regenerated
    # shellcheck disable=SC2086  # report_pairs is a list of A:B pairs
    run_unit 6 report "$log_dir/.report.done" \
        "$python" -m tts_ebm.evaluation.report --exp-dir "$exp_dir" --main-steps "$main_steps" \
        ${report_pairs:+--pairs $report_pairs}
    cat "$exp_dir/RESULTS.md"
fi

if run_stage 7; then
    log "stage 7: listening-test export"
    if tts-ebm export-listening-test --help >/dev/null 2>&1; then
        systems=()
        listened=${listening_criteria:-$criteria}
        for crit in $listened; do
            systems+=(--system "$crit=$exp_dir/$crit/synth_K$(main_steps_of "$crit")")
        done
        # the prior mean alone (K = 0) as a condition too, when it was synthesised: what the
        # energy steps add is what the listeners judge
        first=${listened%% *}
        [ "$main_steps" != 0 ] && [ -d "$exp_dir/$first/synth_K0" ] &&
            systems+=(--system "${first}_mu=$exp_dir/$first/synth_K0")
        out="$exp_dir/listening_test"
        [ -e "$out/.done" ] || rm -rf "$out"  # the export wants a new folder; drop a partial one
        subset=()
        [ -n "$listening_utterances" ] && subset=(--n-utterances "$listening_utterances")
        run_unit 7 listening_test "$out/.done" \
            tts-ebm export-listening-test "${systems[@]}" --reference "$test_ref" \
            --texts "$test_text" --out "$out" --format "$listening_format" "${subset[@]}"
    else
        log "stage 7: skipped, \`tts-ebm export-listening-test\` is not available"
    fi
fi

if run_stage 8; then
    log "stage 8: samples page"
    rm -f "$exp_dir/samples/.done"  # derived from stages 4-6 and cheap: always regenerated
    run_unit 8 samples_page "$exp_dir/samples/.done" \
        tts-ebm samples-page --exp-dir "$exp_dir" --out "$exp_dir/samples" --reference "$test_ref" \
        --texts "$test_text" --steps 0 $(for c in $criteria; do main_steps_of "$c"; done | sort -nu) \
        --no-progress
    log "stage 8: open $exp_dir/samples/index.html in a browser"
fi

if run_stage 9; then
    # the K > 0 of --inference_steps and every chosen K
    contenders=$contest_criteria
    [ -n "$contenders" ] || [[ " $criteria " != *" fm "* ]] || contenders=$criteria
    contest_ks=$(for k in $inference_steps $(for c in $contenders; do [ -z "$chosen" ] ||
                     main_steps_of "$c"; done); do [ "$k" -gt 0 ] && echo "$k"; done | sort -nu | xargs)
    if [ "$(wc -w <<<"$contenders")" -gt 1 ] && [ -n "$contest_ks" ]; then
        log "stage 9: contest of $contenders at K in ($contest_ks)"
        # each system at its chosen K (and its chosen sampler options at every K) against the
        # others at equal time; synthesised and judged as in stages 4-5
        contest_chosen=() contest_samplers=() contest_options=()
        [ -z "$chosen" ] || for crit in $contenders; do
            contest_chosen+=("$crit=$(main_steps_of "$crit")")
            contest_samplers+=("$crit=$(chosen_config "$crit")"); done
        [ -z "$vocoder" ] || contest_options+=(--vocoder "$vocoder")
        [ -z "$eval_args" ] || contest_options+=("--eval-args=$eval_args")
        # shellcheck disable=SC2086  # contenders and contest_ks are lists
        run_unit 9 contest "$exp_dir/contest/.done" \
            "$python" "$recipes_dir/../benchmarks/contest.py" --dump "$dump_dir" \
            --exp-dir "$exp_dir" --out "$exp_dir/contest" --conf-dir "$conf_dir" \
            --criteria $contenders --ks $contest_ks --threads "$nj" --repeats 2 \
            --test-ref "$test_ref" "${contest_options[@]}" \
            ${contest_chosen[@]+--chosen "${contest_chosen[@]}"} \
            ${contest_samplers[@]+--sampler-config "${contest_samplers[@]}"}
        cat "$exp_dir/contest/CONTEST.md"
    else
        log "stage 9: contest skipped (needs two systems: --contest_criteria, or fm and another in --criteria; and a K > 0)"
    fi
fi

log "finished stages $stage-$stop_stage in ${SECONDS}s"
