"""Training with Lightning: config (YAML + overrides), data module, LightningModule, checkpoints.

Entry points: `training.config.load_config`, `training.train.train(config, out_dir)` and
`training.checkpoint.load_for_inference(path)`. Nothing is re-exported here so that synthesis,
which only needs `checkpoint`, does not import Lightning.
"""
