#!/bin/bash
# Debian packages the VM test lab needs, and the kernels it tests.
#
#   deps.sh list      print the package names, one per line
#   deps.sh check     exit 0 if all are installed; else print the apt-get line, exit 1
#   deps.sh install   install the missing ones (root; apt-get update only if needed);
#                     not root: print the apt-get line, exit 1 if any is missing
#   deps.sh kernels   print the two kernel releases to test (newest 6.1.*, newest 6.12.*)
#                     that have both /boot/vmlinuz-R and /lib/modules/R/build
set -euo pipefail

PACKAGES=(
	qemu-system-x86 busybox-static kmod cpio xz-utils
	linux-image-amd64 linux-headers-amd64           # 6.1 series
	linux-image-6.12-amd64 linux-headers-6.12-amd64 # 6.12 series
	make gcc sparse dkms
	rdma-core ibverbs-providers ibverbs-utils perftest libibverbs-dev
	iperf3 iproute2 iputils-ping ethtool
	opensm infiniband-diags                         # softib-* scenarios
	linux-source-6.12 python3-yaml socat            # the kernel's drivers/net tests
)
SERIES=(6.1 6.12)

missing() {
	local p
	for p in "${PACKAGES[@]}"; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
			echo "$p"
	done
}

apt_line() { echo "apt-get install -y --no-install-recommends $*"; }

cmd_check() {
	local m
	mapfile -t m < <(missing)
	((${#m[@]} == 0)) && return 0
	echo "missing packages: ${m[*]}" >&2
	apt_line "${m[@]}"
	return 1
}

cmd_install() {
	local m
	mapfile -t m < <(missing)
	((${#m[@]} == 0)) && return 0
	if ((EUID != 0)); then
		echo "deps.sh: not root; run: $(apt_line "${m[@]}")" >&2
		return 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y --no-install-recommends "${m[@]}" || {
		apt-get update
		apt-get install -y --no-install-recommends "${m[@]}"
	}
}

cmd_kernels() {
	local s r best rc=0
	for s in "${SERIES[@]}"; do
		best=
		for r in $(find /lib/modules -mindepth 1 -maxdepth 1 -name "$s.*" -printf '%f\n' | sort -V); do
			[[ -f /boot/vmlinuz-$r && -d /lib/modules/$r/build ]] && best=$r
		done
		if [[ -n $best ]]; then
			echo "$best"
		else
			echo "deps.sh: no usable $s.* kernel (needs /boot/vmlinuz-R and /lib/modules/R/build)" >&2
			rc=1
		fi
	done
	return $rc
}

case "${1:-}" in
list) printf '%s\n' "${PACKAGES[@]}" ;;
check) cmd_check ;;
install) cmd_install ;;
kernels) cmd_kernels ;;
*)
	echo "usage: $0 list|check|install|kernels" >&2
	exit 2
	;;
esac
