#!/bin/bash
# Build (or reuse) the lab's debug kernel: Debian's linux-source-6.12 with `make
# defconfig`, `make kvm_guest.config` and the fragment tests/debug/debug.config
# (lockdep, KASAN, kmemleak, debug objects, hung-task and workqueue watchdogs, KUnit;
# virtio and 9p built in; InfiniBand, rdma_rxe and the user-verbs modules as modules).
#
#   tests/debug/build-kernel.sh [--force]     build unless the cache is valid
#   tests/debug/build-kernel.sh --print       print the cached kernel's variables (below);
#                                             exit 1 if the cache is not valid
#
# Everything lives under build/debug-kernel/ (override with DEBUG_KERNEL_DIR=DIR):
#   src/                the configured, built kernel tree: KDIR for out-of-tree modules
#   root/lib/modules/R/ its modules (`make modules_install INSTALL_MOD_PATH=root`; never
#                       the host's /lib/modules)
#   vmlinuz             the bzImage
#   kernelrelease       R, e.g. 6.12.117-ipoib-debug
#   build-seconds       how long the last build took
#   build.log           its output
#   stamp               the cache key the tree was built for
# The cache key hashes the fragment, this script's RECIPE number, the linux-source-6.12
# package version and the gcc version; a valid cache is reused without running make.
# On success the last lines on stdout are (also what --print shows):
#   DEBUG_KVER=R DEBUG_KERNEL=.../vmlinuz DEBUG_MODROOT=.../root DEBUG_KDIR=.../src
# Build dependencies (bc bison flex libelf-dev libssl-dev, linux-source-6.12, ...) are
# installed with apt-get when missing and running as root.
set -euo pipefail

RECIPE=1 # bump when a change to this script must invalidate cached kernels
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
FRAGMENT=$REPO/tests/debug/debug.config
OUT=$(realpath -m "${DEBUG_KERNEL_DIR:-$REPO/build/debug-kernel}")
SRC=$OUT/src
ROOT=$OUT/root
SRCPKG=linux-source-6.12
TARBALL=/usr/src/linux-source-6.12.tar.xz
DEPS=(bc bison flex libelf-dev libssl-dev make gcc xz-utils cpio kmod "$SRCPKG")

FORCE=0 PRINT=0
case ${1:-} in
'') ;;
--force) FORCE=1 ;;
--print) PRINT=1 ;;
*) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}" >&2; exit 2 ;;
esac

say() { echo "build-kernel: $*" >&2; }
die() { say "$*"; exit 1; }

pkg_installed() { dpkg-query -W -f='${Status}\n' "$1" 2>/dev/null | grep -q '^install ok installed$'; }

install_deps() {
	local p m=()
	for p in "${DEPS[@]}"; do pkg_installed "$p" || m+=("$p"); done
	((${#m[@]})) || return 0
	((EUID == 0)) || die "missing packages; as root run: apt-get install -y --no-install-recommends ${m[*]}"
	say "installing ${m[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y --no-install-recommends "${m[@]}" >&2 || {
		apt-get update >&2
		apt-get install -y --no-install-recommends "${m[@]}" >&2
	}
}

cache_key() {
	{
		echo "recipe $RECIPE"
		echo "source $(dpkg-query -W -f='${Version}' "$SRCPKG" 2>/dev/null || echo none)"
		echo "gcc $(gcc -dumpfullversion 2>/dev/null || gcc -dumpversion)"
		cat "$FRAGMENT"
	} | sha256sum | cut -d' ' -f1
}

cache_valid() {
	local r
	[[ -f $OUT/stamp && $(<"$OUT/stamp") == "$1" ]] || return 1
	[[ -f $OUT/kernelrelease && -f $OUT/vmlinuz ]] || return 1
	r=$(<"$OUT/kernelrelease")
	[[ -f $ROOT/lib/modules/$r/modules.dep && -f $SRC/Module.symvers ]]
}

print_vars() {
	echo "DEBUG_KVER=$(<"$OUT/kernelrelease")"
	echo "DEBUG_KERNEL=$OUT/vmlinuz"
	echo "DEBUG_MODROOT=$ROOT"
	echo "DEBUG_KDIR=$SRC"
}

# check_config: every line of the fragment must hold in src/.config.
check_config() {
	local line sym val bad=0
	while IFS= read -r line; do
		if [[ $line =~ ^(CONFIG_[A-Za-z0-9_]+)=(.*)$ ]]; then
			sym=${BASH_REMATCH[1]} val=${BASH_REMATCH[2]}
			grep -qxF -- "$sym=$val" "$SRC/.config" && continue
			say "config: wanted $sym=$val, got: $(grep -E "^(# )?${sym}[= ]" "$SRC/.config" || echo 'absent')"
			bad=1
		elif [[ $line =~ ^#\ (CONFIG_[A-Za-z0-9_]+)\ is\ not\ set$ ]]; then
			sym=${BASH_REMATCH[1]}
			grep -qE "^$sym=" "$SRC/.config" || continue
			say "config: wanted $sym off, got: $(grep -E "^$sym=" "$SRC/.config")"
			bad=1
		fi
	done <"$FRAGMENT"
	return $bad
}

[[ -f $FRAGMENT ]] || die "no $FRAGMENT"
mkdir -p "$OUT"
# One build at a time (a second caller waits, then finds the cache valid).
exec 9>"$OUT/.lock"
flock 9

if ((PRINT)); then
	cache_valid "$(cache_key)" || { say "no valid cached kernel in $OUT"; exit 1; }
	print_vars
	exit 0
fi

install_deps
key=$(cache_key)
if ((!FORCE)) && cache_valid "$key"; then
	say "cached $(<"$OUT/kernelrelease") is up to date (built in $(cat "$OUT/build-seconds" 2>/dev/null || echo '?')s)"
	print_vars
	exit 0
fi

start=$SECONDS
rm -f "$OUT/stamp"
srcver=$(dpkg-query -W -f='${Version}' "$SRCPKG")
if [[ ! -f $SRC/.source-version || $(<"$SRC/.source-version") != "$srcver" ]]; then
	[[ -r $TARBALL ]] || die "no $TARBALL"
	say "extracting $TARBALL ($srcver) into $SRC"
	rm -rf "$SRC"
	mkdir -p "$SRC"
	tar -xJf "$TARBALL" -C "$SRC" --strip-components=1
	echo "$srcver" >"$SRC/.source-version"
fi

log=$OUT/build.log
: >"$log"
run() { # run CMD...: output to the build log; on failure show its tail and give up
	echo "+ $*" >>"$log"
	"$@" >>"$log" 2>&1 && return 0
	say "failed: $* (tail of $log follows)"
	tail -n 40 "$log" >&2
	exit 1
}

say "configuring (defconfig + kvm_guest.config + $(basename "$FRAGMENT"))"
run make -C "$SRC" defconfig
run make -C "$SRC" kvm_guest.config
run "$SRC/scripts/kconfig/merge_config.sh" -m -O "$SRC" "$SRC/.config" "$FRAGMENT"
run make -C "$SRC" olddefconfig
check_config || die "the fragment did not apply cleanly (see above)"

jobs=$(nproc)
say "building bzImage and modules with -j$jobs (log: $log)"
run make -C "$SRC" -j"$jobs" bzImage modules
release=$(make -s -C "$SRC" kernelrelease)
rm -rf "$ROOT"
run make -C "$SRC" modules_install INSTALL_MOD_PATH="$ROOT"
cp "$SRC/arch/x86/boot/bzImage" "$OUT/vmlinuz"
echo "$release" >"$OUT/kernelrelease"
secs=$((SECONDS - start))
echo "$secs" >"$OUT/build-seconds"
echo "$key" >"$OUT/stamp"
say "built $release in ${secs}s ($((secs / 60))m$((secs % 60))s)"
print_vars
