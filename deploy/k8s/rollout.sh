#!/usr/bin/env bash
# Roll Yilin out with plain kubectl, migrations first:
#   1. apply the objects labelled yilin.io/rollout-phase=pre (Namespace,
#      ConfigMap, RabbitmqCluster, migrate Job), replacing the previous Job run;
#   2. wait for `yilin migrate` to complete;
#   3. apply everything else and wait for each Deployment.
# Argo CD gets the same order from the Job's hook annotations instead.
#
# Usage: deploy/k8s/rollout.sh dev|prod [extra kubectl flags, e.g. --context x]
set -euo pipefail

overlay="${1:?usage: $0 dev|prod [kubectl flags]}"
shift
here="$(cd "$(dirname "$0")" && pwd)"
rendered="$(mktemp)"
trap 'rm -f "$rendered"' EXIT

kubectl "$@" kustomize "$here/overlays/$overlay" > "$rendered"

# A Job's pod template is immutable: the previous run must go before a new one.
kubectl "$@" delete -f "$rendered" -l app.kubernetes.io/name=migrate --ignore-not-found --wait=true
kubectl "$@" apply -f "$rendered" -l yilin.io/rollout-phase=pre
kubectl "$@" wait -f "$rendered" -l app.kubernetes.io/name=migrate \
  --for=condition=complete --timeout=30m

kubectl "$@" apply -f "$rendered"
kubectl "$@" rollout status -f "$rendered" -l 'app.kubernetes.io/component in (api,service)' --timeout=15m
