#!/usr/bin/env bash
# Point-in-time restore of Liaison's PostgreSQL into a NEW CloudNativePG cluster.
#
# The new cluster is bootstrapped from the base backups and WAL archive that the Barman Cloud
# plugin keeps for the source cluster (the ObjectStore liaison-pg-backups, see
# deploy/k8s/base/data/postgres.yaml), replayed up to --target-time; the source cluster is not
# touched. The restored cluster archives its own WAL under its own name in the same store, so
# it is recoverable in turn. Switching the services over is a separate, deliberate step
# (docs/operators.md, "PostgreSQL: backups, restore, pooler, connection budget").
#
#   deploy/scripts/pitr-restore.sh --target-time 2026-07-01T09:30:00Z [--name liaison-pg-r1]
#       [--namespace liaison-hq] [--source liaison-pg] [--object-store liaison-pg-backups]
#       [--print]
#
# --print (or --dry-run) writes the Cluster manifest to stdout instead of applying it with
# kubectl (${KUBECTL:-kubectl} apply).
set -euo pipefail

usage() {
  sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
  exit 2
}

fail() {
  echo "pitr-restore: $*" >&2
  exit 2
}

target_time="" name="" namespace="liaison-hq" source="liaison-pg"
object_store="liaison-pg-backups" print=false
# Keep these as the source cluster has them (deploy/k8s/base/data/postgres.yaml; a test
# compares them).
image="ghcr.io/cloudnative-pg/postgresql:16.10" instances=3 storage=50Gi wal_storage=10Gi

while [ $# -gt 0 ]; do
  case "$1" in
    --target-time) target_time="${2:-}"; shift 2 ;;
    --name) name="${2:-}"; shift 2 ;;
    --namespace) namespace="${2:-}"; shift 2 ;;
    --source) source="${2:-}"; shift 2 ;;
    --object-store) object_store="${2:-}"; shift 2 ;;
    --print | --dry-run) print=true; shift ;;
    -h | --help) usage ;;
    *) fail "unknown argument $1 (see --help)" ;;
  esac
done

[ -n "$target_time" ] || fail "--target-time is required, e.g. 2026-07-01T09:30:00Z"
# An explicit UTC offset: a time without one would be read in the server's time zone.
rfc3339='^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}(:?[0-9]{2})?)$'
[[ "$target_time" =~ $rfc3339 ]] ||
  fail "--target-time $target_time is not a time with a UTC offset, e.g. 2026-07-01T09:30:00Z"
if [ -z "$name" ]; then  # e.g. liaison-pg-pitr-202607010930
  stamp=$(printf '%s' "$target_time" | tr -dc '0-9' | cut -c1-12)
  name="${source:0:20}-pitr-$stamp"
fi
# CloudNativePG names the cluster's pods, services and jobs after it: a DNS label, kept short.
dns_label='^[a-z]([-a-z0-9]{0,38}[a-z0-9])?$'
for pair in "name:$name" "source:$source" "object-store:$object_store" "namespace:$namespace"; do
  [[ "${pair#*:}" =~ $dns_label ]] ||
    fail "--${pair%%:*} ${pair#*:} is not a DNS label of 40 characters or fewer"
done

manifest() {
  cat <<YAML
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: $name
  namespace: $namespace
  labels:
    app.kubernetes.io/part-of: liaison-data
    liaison.io/restored-from: $source
  annotations:
    liaison.io/recovery-target-time: "$target_time"
spec:
  instances: $instances
  imageName: $image
  primaryUpdateStrategy: unsupervised
  postgresql:
    parameters:
      max_connections: '400'
      shared_buffers: 1GB
    synchronous:
      method: any
      number: 1
      dataDurability: required
  bootstrap:
    recovery:
      source: origin
      recoveryTarget:
        targetTime: "$target_time"
  externalClusters:
  - name: origin
    plugin:
      name: barman-cloud.cloudnative-pg.io
      parameters:
        barmanObjectName: $object_store
        serverName: $source
  plugins:
  - name: barman-cloud.cloudnative-pg.io
    isWALArchiver: true
    parameters:
      barmanObjectName: $object_store
  storage:
    size: $storage
  walStorage:
    size: $wal_storage
  monitoring:
    enablePodMonitor: true
  affinity:
    topologyKey: topology.kubernetes.io/zone
  resources:
    requests:
      cpu: '1'
      memory: 4Gi
    limits:
      cpu: '4'
      memory: 4Gi
YAML
}

if $print; then
  manifest
  exit 0
fi
manifest | "${KUBECTL:-kubectl}" apply -f -
cat >&2 <<TEXT
pitr-restore: cluster $namespace/$name is recovering to $target_time.
  Follow it:  ${KUBECTL:-kubectl} -n $namespace get cluster $name -w   (until "Cluster in healthy state")
  Then check the data on $name-rw, and switch over as docs/operators.md describes.
TEXT
