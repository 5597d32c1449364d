"""The steps of scripts/gpu_plan_run.py, one module each (see that script's docstring)."""
