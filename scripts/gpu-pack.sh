#!/usr/bin/env bash
# Build here what scripts/gpu-check.sh needs on a bare x86-64 GPU machine (no Rust, no
# network), into .gpu/ (ignored by git; carry it with the working tree):
#   .gpu/locomotion   the release binary, stripped
#   .gpu/deb/*.deb    the Vulkan loader (libvulkan1, amd64), unpacked there only when the
#                     machine has no libvulkan.so.1
#
#   scripts/gpu-pack.sh [--no-debs]
#
# --no-debs: the binary only (a machine that has its Vulkan loader installed).
set -euo pipefail

debs=1
for arg in "$@"; do
  case $arg in
    --no-debs) debs=0 ;;
    -h | --help)
      echo "usage: scripts/gpu-pack.sh [--no-debs]"
      exit 0
      ;;
    *)
      echo "error: unknown option '$arg' (usage: scripts/gpu-pack.sh [--no-debs])" >&2
      exit 2
      ;;
  esac
done
cd "$(dirname "$0")/.."
if [ "$(uname -m)" != x86_64 ]; then
  echo "error: this is $(uname -m); the GPU machines are x86-64: build on an x86-64 machine" >&2
  exit 1
fi
cargo build --release --bin locomotion
mkdir -p .gpu
strip -o .gpu/locomotion.tmp target/release/locomotion
mv .gpu/locomotion.tmp .gpu/locomotion
echo "packed .gpu/locomotion ($(du -h .gpu/locomotion | cut -f1), needs glibc $(ldd --version | head -1 | grep -o '[0-9.]*$') or newer there)"
if [ "$debs" = 1 ]; then
  # Package lists for amd64 in a private folder, so the host's own lists stay as they are.
  lists=$(mktemp -d)
  mkdir -p "$lists/partial" .gpu/deb
  o=(-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 "-oDir::State::Lists=$lists")
  # As root, apt would warn that its sandbox user cannot write these folders.
  [ "$(id -u)" = 0 ] && o+=(-oAPT::Sandbox::User=root)
  apt-get "${o[@]}" update >/dev/null
  rm -f .gpu/deb/*.deb
  (cd .gpu/deb && apt-get "${o[@]}" download libvulkan1 >/dev/null)
  rm -rf "$lists"
  echo "packed $(ls .gpu/deb)"
fi
echo "carry .gpu with the working tree; there, from the repository root: scripts/gpu-check.sh OUTDIR"
