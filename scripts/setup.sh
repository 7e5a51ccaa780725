#!/usr/bin/env bash
# Installs what satdet needs on a fresh Debian/Ubuntu machine, idempotently:
#  - apt: gdal-bin (test oracle and fixtures), mesa-vulkan-drivers + libvulkan1 (wgpu's
#    software Vulkan adapter), chromium (the HTML report's test), python3-venv;
#  - .venv/ with onnxruntime (its libonnxruntime is what satdet loads at run time; satdet
#    finds it there), onnx and numpy (fixtures).
# Everything comes from the package registries (Debian, PyPI, crates.io); nothing else is
# downloaded.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v gdalinfo >/dev/null || need+=(gdal-bin)
dpkg -s mesa-vulkan-drivers >/dev/null 2>&1 || need+=(mesa-vulkan-drivers)
dpkg -s libvulkan1 >/dev/null 2>&1 || need+=(libvulkan1)
# Headless Chromium renders the HTML report in its test, as a person would see it.
command -v chromium >/dev/null || need+=(chromium)
dpkg -s fonts-dejavu-core >/dev/null 2>&1 || need+=(fonts-dejavu-core)
python3 -m venv --help >/dev/null 2>&1 || need+=(python3-venv)
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -r scripts/requirements.txt
echo "setup: onnxruntime at $(ls .venv/lib/python3*/site-packages/onnxruntime/capi/libonnxruntime.so* | head -1)"
