#!/usr/bin/env bash
# Install the Debian packages for a single-node Slurm (controller, node daemon,
# client commands) and munge, its authentication service. Used by CI and by
# tests/slurm/local_slurm.sh; does nothing when everything is already there.
set -euo pipefail

packages=(slurmctld slurmd slurm-client munge)

missing=()
for pkg in "${packages[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    if [[ "$status" != "install ok installed" ]]; then
        missing+=("$pkg")
    fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
    echo "install-slurm: already installed: ${packages[*]}"
    exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
    echo "install-slurm: need root to install ${missing[*]} (run as root or with sudo)" >&2
    exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-slurm: apt-get not found; this script supports Debian/Ubuntu only" >&2
    exit 1
fi

echo "install-slurm: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# One package-list update: skipped when the lists were refreshed in the last
# hour (e.g. by .ci/run just before).
if ! find /var/lib/apt/lists -maxdepth 1 -name '*_Packages*' -mmin -60 2>/dev/null | grep -q .; then
    apt-get update -qq
fi
# The packages' postinst scripts try to start services through systemd or
# init scripts; policy-rc.d = 101 stops that (there is no init system in
# containers, and tests/slurm/local_slurm.sh starts the daemons itself).
policy=/usr/sbin/policy-rc.d
created_policy=0
if [[ ! -e "$policy" ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod +x "$policy"
    created_policy=1
fi
trap '[[ $created_policy -eq 1 ]] && rm -f "$policy"' EXIT
apt-get install -y -qq --no-install-recommends "${packages[@]}"
echo "install-slurm: installed $(dpkg-query -W -f='${Package} ${Version}\n' slurmctld munge | tr '\n' ' ')"
