#!/usr/bin/env bash
# The GPU measurements of issue 5 in one command, on a lent GPU machine (the device tool's `run`, from the
# repository root, with `carry: [".gpu"]` prepared by scripts/gpu/prepare.sh). Logs and JSON go to $OUT
# (or ./gpu-out). About 7–9 minutes on an H100; keep the call's timeout at 600 s.
#
#   scripts/gpu/measure.sh            # the full protocol
#   scripts/gpu/measure.sh --quick    # a smoke run (a few steps each), e.g. here on SwiftShader
set -uo pipefail
cd "$(dirname "$0")/../.."
R=$PWD
OUT=${OUT:-$R/gpu-out}
mkdir -p "$OUT"
QUICK=0
[ "${1:-}" = "--quick" ] && QUICK=1
log() { echo "== $*" | tee -a "$OUT/summary.txt"; }

# Vulkan loader (absent on the lent machines) and Node, from .gpu/.
if [ -d .gpu ] && ! ldconfig -p | grep -q libvulkan.so.1; then
  for f in .gpu/*.deb; do dpkg -x "$f" /; done
  ldconfig
fi
NODE=node
if ! command -v node >/dev/null 2>&1 || [ -f .gpu/node.xz ]; then
  xz -dc .gpu/node.xz > /tmp/node-gpu && chmod +x /tmp/node-gpu && NODE=/tmp/node-gpu
fi
[ -d node_modules/@tensorflow ] || tar xJf .gpu/tree.tar.xz
# NVIDIA's Vulkan driver where it is; otherwise whatever VK_ICD_FILENAMES / VK_DRIVER_FILES say (SwiftShader here).
NV=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
[ -f "$NV" ] && export VK_DRIVER_FILES=$NV
[ -f /usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json ] &&
  export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json

log "machine: $(nvidia-smi -L 2>/dev/null | head -1 || echo 'no nvidia-smi') · $(nproc) cores · node $($NODE --version)"
git log --oneline -1 2>/dev/null | tee -a "$OUT/summary.txt"

if [ $QUICK = 1 ]; then
  STEPS=(--runs 1 --steps 2 --warmup 1)
  DISPATCH=(--rounds 1 --chains 3)
else
  STEPS=(--runs 5 --steps 50 --warmup 20)
  DISPATCH=()
fi

log "1. dispatch enqueue cost (scripts/bench/dispatch.ts)"
timeout 120 $NODE --import tsx scripts/bench/dispatch.ts "${DISPATCH[@]}" 2>&1 | tee "$OUT/dispatch.log" | tail -12 | tee -a "$OUT/summary.txt"

log "2. dispatches in one MLP step, by program"
timeout 120 $NODE --import tsx scripts/bench/profile.ts --backend webgpu --dispatches --steps 2 2>&1 |
  grep -A20 'dispatches in one' | tee -a "$OUT/summary.txt"

log "3. MLP GAN on webgpu: library, hand-written, untuned, stock, the library in a step() loop"
timeout 300 $NODE --import tsx scripts/bench.ts --backends webgpu --models mlp "${STEPS[@]}" --untuned --stock --step-loop --no-torch \
  --json "$OUT/bench-mlp.json" 2>&1 | tee "$OUT/bench-mlp.log" | grep -A9 '^| backend' | tee -a "$OUT/summary.txt"

log "4. the same without the bind group cache (library and hand-written only)"
timeout 200 $NODE --import tsx scripts/bench.ts --backends webgpu --models mlp "${STEPS[@]}" --no-bind-group-cache --no-torch \
  --json "$OUT/bench-mlp-nocache.json" 2>&1 | tee "$OUT/bench-mlp-nocache.log" | grep -A6 '^| backend' | tee -a "$OUT/summary.txt"

log "5. the library with the read-back guard (one flag read per update) against the on-device guard it uses on webgpu"
timeout 200 $NODE --import tsx scripts/bench.ts --backends webgpu --models mlp "${STEPS[@]}" --guard read-back --no-torch \
  --json "$OUT/bench-mlp-readback.json" 2>&1 | tee "$OUT/bench-mlp-readback.log" | grep -A6 '^| backend' | tee -a "$OUT/summary.txt"

log "6. PyTorch CUDA, the seed's loop (scripts/bench_torch.py)"
if python3 -c 'import torch; assert torch.cuda.is_available()' 2>/dev/null; then
  timeout 150 python3 scripts/bench_torch.py --device cuda 2>&1 | tee "$OUT/torch.log" | tail -3 | tee -a "$OUT/summary.txt"
else
  echo "no torch with CUDA here" | tee -a "$OUT/summary.txt"
fi
log "done: $OUT"
