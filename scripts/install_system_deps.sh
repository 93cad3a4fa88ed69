#!/usr/bin/env bash
# Installs the system packages tts-ebm needs: espeak-ng (phonemizer backend and the espeak voice of
# the offline mini corpus), festival with the CMU ARCTIC slt HTS voice (the default voice of the
# mini corpus) and chromium (the headless browser of the samples-page test; the test
# skips without it). Idempotent: does nothing when they are already there.
set -euo pipefail
slt_voice=/usr/share/festival/voices/us/cmu_us_slt_arctic_hts/hts/cmu_us_slt_arctic_hts.htsvoice
missing=()
command -v espeak-ng >/dev/null 2>&1 || missing+=(espeak-ng)
command -v festival >/dev/null 2>&1 || missing+=(festival)
[ -f "$slt_voice" ] || missing+=(festvox-us-slt-hts)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "Please install: ${missing[*]} (no apt-get on this machine)" >&2
  exit 1
fi
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
echo "Installing system packages: ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
