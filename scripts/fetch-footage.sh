#!/bin/sh
# Recorded camera footage with known content for the image-check tests: the
# fixed-camera pedestrian scene "vtest.avi" (768x576, 10 fps, 80 s) that
# OpenCV ships as sample data, taken from Debian's opencv-doc package at
# install time (no download when the tests run). Idempotent.
set -eu
dest="${1:-.cache/footage}"
[ -s "$dest/vtest.avi" ] && exit 0
mkdir -p "$dest"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
apt-get download opencv-doc >/dev/null 2>&1 || { apt-get update -qq && apt-get download opencv-doc; }
dpkg-deb --fsys-tarfile opencv-doc_*.deb | tar -x ./usr/share/doc/opencv-doc/examples/data/vtest.avi
cd - >/dev/null
mv "$work/usr/share/doc/opencv-doc/examples/data/vtest.avi" "$dest/vtest.avi"
echo "footage: $dest/vtest.avi"
