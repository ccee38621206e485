#!/usr/bin/env bash
# Where a real dataset would come from. The digits this project trains on ship with scikit-learn,
# so `make data` needs no download; replace the URL below with your own source and keep the
# contract: files land in data/raw/ once and are never edited afterwards (processing reads them).
#
#   DATA_URL=https://example.org/my-dataset.tar.gz ./scripts/download_data.sh
#
# Credentials come from the environment (.env, see .env.example), never from this file.
set -euo pipefail

RAW_DIR="${RAW_DIR:-data/raw}"
DATA_URL="${DATA_URL:-}"
DATA_TOKEN="${DATA_TOKEN:-}"

if [[ -z "${DATA_URL}" ]]; then
  echo "Nothing to download: this project trains on scikit-learn's bundled digits (make data)."
  echo "Set DATA_URL to fetch a real dataset into ${RAW_DIR}/."
  exit 0
fi

mkdir -p "${RAW_DIR}"
target="${RAW_DIR}/$(basename "${DATA_URL}")"
if [[ -e "${target}" ]]; then
  echo "${target} exists: raw data is immutable, not downloading again."
  exit 0
fi

auth=()
if [[ -n "${DATA_TOKEN}" ]]; then
  auth=(--header "Authorization: Bearer ${DATA_TOKEN}")
fi
curl --fail --location --retry 3 "${auth[@]}" --output "${target}.part" "${DATA_URL}"
mv "${target}.part" "${target}"
echo "Saved ${target}"
