#!/usr/bin/env bash
# The GPU checks in one call (a lent GPU machine, about 4 minutes): the CUDA
# tests, then tests/bench/gpu.py. Run from the repository root:
#   OUT=results_dir CHARRNN_DATA_DIR=folder_with_timemachine.txt bash tests/bench/gpu_check.sh
# With BASE=a checkout of an earlier commit, that commit's CLI runs the d2l
# run too (the figure before, on the same GPU). GPU_ARGS: more arguments for gpu.py
# (--small: a smoke run of the whole script on any machine).
set -o pipefail
OUT=${OUT:-/tmp/gpu_check}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
export CHARRNN_DATA_DIR=${CHARRNN_DATA_DIR:-$PWD/data}
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,temperature.gpu,utilization.gpu \
  --format=csv | tee "$OUT/gpu.txt"
python3 -c "import torch, sys; print(sys.version.split()[0], torch.__version__)" | tee -a "$OUT/gpu.txt"
timeout 170 python3 -m pytest tests/test_cuda.py tests/test_cuda_graph.py -q -p no:cacheprovider \
  2>&1 | tail -40 | tee "$OUT/tests.log"
if [ -n "${BASE:-}" ]; then
  (cd "$BASE" && timeout 80 python3 -m charrnn train --device cuda --json | tail -1) \
    2>&1 | tee "$OUT/base_cli.json"
fi
timeout 330 python3 tests/bench/gpu.py --out "$OUT/gpu_results.json" ${GPU_ARGS:-} 2>&1 | tee "$OUT/bench.log"
