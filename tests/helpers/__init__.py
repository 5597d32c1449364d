"""Modules the tests share (a hub stand-in, tiny training settings, run records, the JAX
rerun, the training worker process, script loading): imported as ``helpers.<module>``,
never collected."""
