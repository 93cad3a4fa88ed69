#!/usr/bin/env bash
# "Your own recordings" in Catalan, made offline: festival's UPC ona HTS voice (female, 16 kHz)
# speaks the project's 237 Catalan sentences (data_prep/resources/catalan_sentences.txt, our own
# text) into data/ona in LJSpeech layout (metadata.csv with id|text, wavs/<id>.wav).
# Needs `apt-get install festival festival-ca festvox-ca-ona-hts`.
set -euo pipefail
out=${1:-data/ona}
python -m data_prep.speak_folder --voice ca-ona \
    --sentences ../../data_prep/resources/catalan_sentences.txt --out "$out" --prefix ona --workers 2
