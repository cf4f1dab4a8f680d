#!/usr/bin/env bash
# Submit an experiment file to a Ray cluster as a job:
#   cluster/submit.sh [--resume | --restart] FILE [ADDRESS]
#
# Run it from the folder to upload (normally the repository root): `ray job submit --working-dir .`
# packs that folder (honouring .gitignore) and runs `python -m safemeta.platform.cli run FILE` on
# the cluster. ADDRESS is the dashboard address (default: $RAY_ADDRESS or http://127.0.0.1:8265).
# --resume continues an interrupted sweep, --restart replaces an earlier one of the same name.
# The job's working folder is temporary (deleted with the head), so the run refuses an MLflow
# store or results folder inside it: set MLFLOW_TRACKING_URI (passed on as --tracking-uri) to an
# MLflow server or a shared path, and SAFEMETA_STORAGE_PATH (as --storage-path) to shared storage,
# unless the experiment file already points both outside.
set -euo pipefail
usage="usage: cluster/submit.sh [--resume | --restart] FILE [ADDRESS]"
mode=()
positional=()
for arg in "$@"; do
    case $arg in
        --resume | --restart)
            if [[ ${#mode[@]} -gt 0 ]]; then
                echo "submit.sh: --resume and --restart exclude each other" >&2
                exit 2
            fi
            mode=("$arg")
            ;;
        -*)
            echo "submit.sh: unknown option $arg; $usage" >&2
            exit 2
            ;;
        *) positional+=("$arg") ;;
    esac
done
if [[ ${#positional[@]} -lt 1 || ${#positional[@]} -gt 2 ]]; then
    echo "$usage" >&2
    exit 2
fi
file=${positional[0]}
address=${positional[1]:-${RAY_ADDRESS:-http://127.0.0.1:8265}}
if [[ ! -f $file ]]; then
    echo "submit.sh: $file not found (paths are relative to the folder you run this from)" >&2
    exit 2
fi
cli_args=(run "$file" --no-compare "${mode[@]}")
if [[ -n ${MLFLOW_TRACKING_URI:-} ]]; then
    cli_args+=(--tracking-uri "$MLFLOW_TRACKING_URI")
fi
if [[ -n ${SAFEMETA_STORAGE_PATH:-} ]]; then
    cli_args+=(--storage-path "$SAFEMETA_STORAGE_PATH")
fi
# Ray 2.60 clusters use token authentication; the token is read from ~/.ray/auth_token.
export RAY_AUTH_MODE=${RAY_AUTH_MODE:-token}
exec ray job submit --address "$address" --working-dir . -- \
    python -m safemeta.platform.cli "${cli_args[@]}"
