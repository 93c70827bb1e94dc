#!/bin/sh
# Installs the Debian packages Vigie needs (demo and tests; systemd only for
# `systemd-analyze verify` of docs/deploy/, no running systemd needed). Idempotent: does
# nothing when every package is already installed. Needs root (or sudo).
set -eu
PKGS="ffmpeg fonts-dejavu-core chromium faketime
gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good
gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly gstreamer1.0-libav
gir1.2-gst-rtsp-server-1.0 gir1.2-gstreamer-1.0 gir1.2-gst-plugins-base-1.0 python3-gi
postgresql libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b libpangocairo-1.0-0
gcc libc6-dev pkg-config python3-dev libavformat-dev libavcodec-dev libavutil-dev
systemd"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "Installing system packages:$missing"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
