#!/usr/bin/env bash
# Install the system packages creative needs (Debian/Ubuntu), or say exactly what to run.
set -euo pipefail

packages=()
command -v ffmpeg >/dev/null 2>&1 || packages+=(ffmpeg)
command -v ffprobe >/dev/null 2>&1 || packages+=(ffmpeg)
# The browser research backend drives the system Chromium (never a downloaded build).
command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || packages+=(chromium)
# brand init matches a site's CSS fonts to installed ones with fontconfig (DejaVu: the tests' installed face).
command -v fc-match >/dev/null 2>&1 || packages+=(fontconfig)
fc-list 2>/dev/null | grep -q "DejaVu Serif" || packages+=(fonts-dejavu-core)
[ "${#packages[@]}" -eq 0 ] && exit 0
mapfile -t packages < <(printf '%s\n' "${packages[@]}" | sort -u)

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing system packages: ${packages[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
else
  echo "creative needs these system packages: ${packages[*]}" >&2
  echo "install them with:  sudo apt-get install ${packages[*]}" >&2
  exit 1
fi
