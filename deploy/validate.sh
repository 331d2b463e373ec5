#!/usr/bin/env bash
# Offline validation of deploy/: needs no Docker engine and no network.
#
#   bash deploy/validate.sh
#
# 1. `compose config -q` for each variant: CPU, GPU (docker-compose.gpu.yml),
#    and each of them with docker-compose.hostdir.yml;
# 2. deploy/check_config.py on the rendered CPU and GPU configs: YAML keys of
#    dagster.yaml / dagster.gpu.yaml, that the two differ only where they
#    should, that compose and the instance configs agree (env names, volume
#    and network names, image, workspace host/port), the Dockerfile's targets,
#    and, where dagster + dagster-docker import, the installed Dagster's
#    instance schema and the container-create request DockerRunLauncher builds.
#
# Uses `docker compose` (v2) when present, else `docker-compose` (v1.28+), or
# $COMPOSE. Python: $PYTHON, else the repo's .venv, else python3.
# Anything it cannot check is printed as SKIPPED. Exit code: 0 only when every
# check it ran passed.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
cd "$root"

if [[ -n "${COMPOSE:-}" ]]; then
    read -r -a compose <<<"$COMPOSE"
elif docker compose version >/dev/null 2>&1; then
    compose=(docker compose)
elif command -v docker-compose >/dev/null 2>&1; then
    compose=(docker-compose)
else
    compose=()
fi

if [[ -n "${PYTHON:-}" ]]; then
    python="$PYTHON"
elif [[ -x "$root/.venv/bin/python" ]]; then
    python="$root/.venv/bin/python"
else
    python="python3"
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# Render with the defaults in the compose files, not with whatever a
# developer's shell or deploy/.env says: run compose with a scrubbed env and
# an empty env file. FI_DATA_DIR is only needed by the hostdir override.
clean_env=(env -i "PATH=$PATH" "HOME=${HOME:-/tmp}")
[[ -n "${DOCKER_HOST:-}" ]] && clean_env+=("DOCKER_HOST=$DOCKER_HOST")
: >"$tmp/empty.env"

# (A function, not an associative array: macOS ships bash 3.2.)
variant_files() {
    case "$1" in
        cpu) echo "-f deploy/docker-compose.yml" ;;
        gpu) echo "-f deploy/docker-compose.yml -f deploy/docker-compose.gpu.yml" ;;
        cpu-hostdir) echo "-f deploy/docker-compose.yml -f deploy/docker-compose.hostdir.yml" ;;
        gpu-hostdir) echo "-f deploy/docker-compose.yml -f deploy/docker-compose.gpu.yml -f deploy/docker-compose.hostdir.yml" ;;
    esac
}

status=0
check_args=()
if ((${#compose[@]})); then
    echo "compose: $("${compose[@]}" version 2>/dev/null | head -n1)"
    for variant in cpu gpu cpu-hostdir gpu-hostdir; do
        read -r -a files <<<"$(variant_files "$variant")"
        cmd=("${clean_env[@]}" "FI_DATA_DIR=/srv/fi-diarization" "DAGSTER_POSTGRES_PASSWORD=validate-only" "${compose[@]}"
             --env-file "$tmp/empty.env" -p fi-diarization "${files[@]}")
        if "${cmd[@]}" config -q; then
            echo "  ok   compose config -q ($variant)"
        else
            echo "  FAIL compose config -q ($variant)"
            status=1
            continue
        fi
        if [[ "$variant" == cpu || "$variant" == gpu ]]; then
            "${cmd[@]}" config >"$tmp/$variant.yml"
            check_args+=(--compose "$variant=$tmp/$variant.yml")
        fi
    done
    # Secrets come only from the environment: no password, no render.
    if "${clean_env[@]}" "${compose[@]}" --env-file "$tmp/empty.env" -p fi-diarization \
        -f deploy/docker-compose.yml config -q >/dev/null 2>&1; then
        echo "  FAIL compose rendered without DAGSTER_POSTGRES_PASSWORD"
        status=1
    else
        echo "  ok   compose refuses to render without DAGSTER_POSTGRES_PASSWORD"
    fi
    # The hostdir override must refuse to render without FI_DATA_DIR.
    if "${clean_env[@]}" "DAGSTER_POSTGRES_PASSWORD=validate-only" "${compose[@]}" --env-file "$tmp/empty.env" -p fi-diarization \
        -f deploy/docker-compose.yml -f deploy/docker-compose.hostdir.yml config -q >/dev/null 2>&1; then
        echo "  FAIL hostdir override rendered without FI_DATA_DIR"
        status=1
    else
        echo "  ok   hostdir override refuses to render without FI_DATA_DIR"
    fi
else
    echo "  SKIPPED compose config: neither 'docker compose' nor 'docker-compose' found"
fi

echo "python: $python"
if ! "$python" "$here/check_config.py" ${check_args[@]+"${check_args[@]}"}; then
    status=1
fi

exit "$status"
