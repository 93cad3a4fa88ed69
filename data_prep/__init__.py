"""Corpus preparation: audio loading, the HiFi-GAN log-mel, manifests, LJSpeech, the mini corpus,
and feature extraction. Modules import torch only where they need it (features, extract)."""
