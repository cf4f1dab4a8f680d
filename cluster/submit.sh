#!/usr/bin/env bash
# Submit an experiment file to a Ray cluster as a job:  cluster/submit.sh FILE [ADDRESS]
#
# Run it from the folder to upload (normally the repository root): `ray job submit --working-dir .`
# packs that folder (honouring .gitignore) and runs `python -m safemeta.platform.cli run FILE` on
# the cluster. ADDRESS is the dashboard address (default: $RAY_ADDRESS or http://127.0.0.1:8265).
# MLFLOW_TRACKING_URI, if set, is passed on as --tracking-uri: on a cluster, point it at an MLflow
# server or a shared path, since the job's working folder is temporary.
set -euo pipefail
if [[ $# -lt 1 || $# -gt 2 ]]; then
    echo "usage: cluster/submit.sh FILE [ADDRESS]" >&2
    exit 2
fi
file=$1
address=${2:-${RAY_ADDRESS:-http://127.0.0.1:8265}}
if [[ ! -f $file ]]; then
    echo "submit.sh: $file not found (paths are relative to the folder you run this from)" >&2
    exit 2
fi
cli_args=(run "$file" --no-compare)
if [[ -n ${MLFLOW_TRACKING_URI:-} ]]; then
    cli_args+=(--tracking-uri "$MLFLOW_TRACKING_URI")
fi
# Ray 2.60 clusters use token authentication; the token is read from ~/.ray/auth_token.
export RAY_AUTH_MODE=${RAY_AUTH_MODE:-token}
exec ray job submit --address "$address" --working-dir . -- \
    python -m safemeta.platform.cli "${cli_args[@]}"
