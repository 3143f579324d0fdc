#!/usr/bin/env bash
# The main job: installs what it needs, builds, starts a local cluster (real etcd, nodes in network
# namespaces, overlayd on each, a pod per node), prints the lease table and a pod-to-pod connectivity
# matrix, creates a service backed by the pods and connects to its ClusterIP from a pod, and cleans up. Flags: --nodes N, --keep (keep it running to look around), --teardown.
# Run as root.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
dotnet build test/Overlay.Demo -c Release -nologo -v q -clp:ErrorsOnly
exec dotnet test/Overlay.Demo/bin/Release/net10.0/overlay-demo.dll "$@"
