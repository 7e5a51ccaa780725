#!/usr/bin/env bash
# E7 (seventh round, 2026-11-30), exactly as run on the H200 machine from the root of a
# checkout holding .gpu/pack.pkl (training/pack.py), .gpu/training/ (a copy of training/)
# and .gpu/init/e6_seed{0,1}.onnx (E6's exported models): two seeds in parallel, each
# continuing its E6 seed's weights with a second cosine schedule (peak lr 1e-3, 100-step
# warm-up) on fresh samples (--sample-offset 140800 = E6's 4,400 steps x 32), so no sample
# of E6 is seen again. 8 loader workers each; --budget-min 7.3 chose 3,800 steps for both.
# Writes $OUT/s0 and $OUT/s1 (three EMA checkpoints and the log each); export and evaluate
# them afterwards with train.py --export-only (training/README.md).
# Env overrides only for a CPU dry run: PY, DEVICE, WORKERS, SCHED, LIMIT, e.g.
#   OUT=/tmp/dry PY=python DEVICE=cpu WORKERS=1 SCHED="--steps 20" bash training/e7_gpu.sh
export PYTHONUNBUFFERED=1
PY=${PY:-python3}
DEVICE=${DEVICE:-cuda}
WORKERS=${WORKERS:-8}
SCHED=${SCHED:---steps 60000 --budget-min 7.3}
LIMIT=${LIMIT:-530}
: "${OUT:?OUT unset}"
(nvidia-smi -L; nproc; $PY -c "import torch, onnx, cv2, numpy; print(torch.__version__, onnx.__version__, cv2.__version__, numpy.__version__, torch.cuda.is_available())") 2>&1
for s in 0 1; do
  mkdir -p $OUT/s$s
  timeout -s INT $LIMIT $PY .gpu/training/train.py --data .gpu/pack.pkl --train-only --device $DEVICE \
    --init .gpu/init/e6_seed$s.onnx --lr 1e-3 --batch 32 $SCHED --sample-offset 140800 \
    --workers $WORKERS --threads 1 --seed $s --work $OUT/s$s --spread 0.8,0.9 > $OUT/s$s/log.txt 2>&1 &
done
wait
for s in 0 1; do echo "== seed $s"; head -3 $OUT/s$s/log.txt; grep budget $OUT/s$s/log.txt; tail -3 $OUT/s$s/log.txt; done
ls -la $OUT/s0 $OUT/s1
