"""Sweeps: many runs of one base config, varied along axes, judged by
validation perplexity; trials run on this machine or on a Ray cluster, and
every trial is a run in the run store (the app's Compare and Sweep open it).

plan.py: the trials from the axes; record.py: the sweep's state on disk
(what `--resume` reads); asha.py: successive halving for the local executor;
local.py / ray_tune.py: where trials run; cli.py: `python -m charrnn sweep`.
"""
