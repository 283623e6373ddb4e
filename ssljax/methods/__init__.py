"""One module per training method; each exposes build(config) -> train.Task and run(config, workdir)."""
