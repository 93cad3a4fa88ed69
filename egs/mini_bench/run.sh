#!/usr/bin/env bash
# CPU benchmark, the test pass (`make bench`): Sun & Ragni's comparison at the settings the
# tuning pass chose on the tune set (`make bench-tune`, conf/chosen/), the test set judged once.
# - corpus: 2400 festival-slt training clips (about 2.2 h of audio), 100 test sentences;
# - training: the five criteria (delta, nce, ssm, dsm_nc: noise-conditional dsm, fm_xpred: flow
#   matching in x-prediction form) and the plain forms as ablations (dsm, fm), egs/mini/conf
#   (small preset, parameter counts within 0.5 %), each with its chosen training overrides and
#   the same compute: settings.sh's budget in delta steps over its whole-step cost; the two best
#   systems of the tuning table again with a second training seed (<name>_seed2);
# - synthesis of the test set through HiFi-GAN (settings.sh) at each system's chosen K and
#   sampler options, and mu alone (K = 0) for the five criteria, the baseline each must beat;
# - evaluation: WER, DNSMOS P.808 (its P.808 model alone), mel FD, MCD, log-F0 (dio), GPE, V/UV;
# - stage 6: RESULTS.md, with the paper's ranking (delta, ssm, nce) and each seed pair compared
#   sentence by sentence (--report_pairs);
# - stage 9: the contest of delta and fm_xpred at equal acoustic-model wall time, each at its
#   chosen K against the other's nearest chosen K (--inference_steps 0: no other K is timed).
# Extra options override these, e.g. `bash egs/mini_bench/run.sh --stage 9`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
. ../mini/path.sh
. ./settings.sh

criteria="delta nce ssm dsm_nc fm_xpred"
# shellcheck disable=SC2154  # budget_steps, step_costs, vocoder, seed_systems: settings.sh
../../recipes/tts.sh \
    --corpus mini \
    --n_train 2400 --n_val 20 --n_test 100 \
    --criteria "$criteria dsm fm $(for s in $seed_systems; do echo "${s}_seed2"; done | xargs)" \
    --mu_criteria "$criteria" \
    --conf_dir ../mini/conf \
    --chosen conf/chosen --inference_steps 0 \
    --budget_steps "$budget_steps" --step_costs "$step_costs" \
    --train_jobs 2 \
    --vocoder "$vocoder" \
    --eval_args "--f0-method dio --dnsmos-models p808" \
    --contest_criteria "delta fm_xpred" \
    --listening_criteria "$criteria" \
    --report_pairs "delta:ssm delta:nce ssm:nce delta:delta_seed2 nce:nce_seed2 delta:fm_xpred" \
    --nj 2 \
    "$@"
