#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# `make dkms-install` and `make dkms-remove` (as root):
#
#   scripts/dkms.sh install [RELEASE...]
#   scripts/dkms.sh remove
#
# install copies what the build needs (Kbuild, *.c, *.h, compat/, dkms.conf: kbuild needs
# no Makefile) to /usr/src/ib_ipoib-<version>/ and stamps the git commit into that
# dkms.conf's module version; then dkms add, build and install for each kernel release:
# the RELEASEs if given (the Makefile passes KVER when it was set), else every 6.1.* and
# 6.12.* kernel (BUILD_EXCLUSIVE_KERNEL) that has headers, else the running one.
# Re-running replaces the version cleanly (dkms remove --all first) and rebuilds it from
# the new sources for the kernels it was installed for before, too. remove undoes it.
# Messages start "dkms-install:" or "dkms-remove:", as the make target's name.
set -e

action=${1:-}
case $action in
install | remove) shift ;;
*)
	echo "usage: $0 install [RELEASE...] | remove" >&2
	exit 2
	;;
esac
me=dkms-$action
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# Root, dkms, and dkms.conf's PACKAGE_VERSION equal to ipoib.h's DRV_VERSION.
[ "$(id -u)" = 0 ] || { echo "$me: run as root" >&2; exit 1; }
command -v dkms >/dev/null || { echo "$me: no dkms (apt-get install dkms)" >&2; exit 1; }
ver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' "$top/dkms.conf")
src=/usr/src/ib_ipoib-$ver
drv=$(sed -n 's/^#define DRV_VERSION[[:space:]]*"\(.*\)"/\1/p' "$top/ipoib.h")
if [ -z "$ver" ] || [ "$ver" != "$drv" ]; then
	echo "$me: PACKAGE_VERSION '$ver' in dkms.conf differs from DRV_VERSION '$drv' in ipoib.h" >&2
	exit 1
fi

if [ "$action" = remove ]; then
	if [ -n "$(dkms status -m ib_ipoib -v "$ver")" ]; then
		dkms remove "ib_ipoib/$ver" --all
	else
		echo "$me: ib_ipoib/$ver is not in dkms"
	fi
	rm -rf "$src"
	dkms status -m ib_ipoib
	exit 0
fi

# The releases asked for (or found), each checked before anything changes.
re=$(sed -n 's/^BUILD_EXCLUSIVE_KERNEL="\(.*\)"/\1/p' "$top/dkms.conf")
new="$*"
if [ -z "$new" ]; then
	for d in /lib/modules/*/build; do
		r=${d%/build}
		r=${r##*/}
		if [ -d "$d" ] && echo "$r" | grep -Eq "$re"; then new="$new $r"; fi
	done
	[ -n "$new" ] || new=$(uname -r)
fi
for k in $new; do
	echo "$k" | grep -Eq "$re" || { echo "$me: $k is not a tested kernel" \
		"series (BUILD_EXCLUSIVE_KERNEL=\"$re\" in dkms.conf)" >&2; exit 1; }
	[ -d "/lib/modules/$k/build" ] || { echo "$me: no kernel headers at" \
		"/lib/modules/$k/build: apt-get install linux-headers-$k" >&2; exit 1; }
done

# Those and the ones this version is installed for now, less those without headers; a
# `make install` module in any of them would shadow the DKMS one.
old=$(dkms status -m ib_ipoib -v "$ver" |
	sed -n 's/^[^,]*, \([^,]*\), [^:]*: installed.*/\1/p')
kernels=
for k in $new $old; do
	case " $kernels " in *" $k "*) continue ;; esac
	[ -d "/lib/modules/$k/build" ] || continue
	for f in "/lib/modules/$k/updates/ib_ipoib.ko"*; do
		[ -e "$f" ] || continue
		echo "$me: $f (make install) would compete with the DKMS module:" \
			"rm $f; depmod $k" >&2
		exit 1
	done
	kernels="$kernels $k"
done

if [ -n "$(dkms status -m ib_ipoib -v "$ver")" ]; then
	dkms remove "ib_ipoib/$ver" --all
fi
rm -rf "$src"
mkdir -p "$src"
cd "$top"
# shellcheck disable=SC2046 # compat/ header paths hold no blanks
cp -p --parents Kbuild ./*.c ./*.h $(find compat -name '*.h') dkms.conf "$src"/
g=$(git describe --always --dirty 2>/dev/null || true)
if [ -n "$g" ]; then
	sed -i "s/^\(IPOIB_DKMS_VERSION=\".*\)\"\$/\1.g$g\"/" "$src/dkms.conf"
	grep -q "^IPOIB_DKMS_VERSION=.*\.g$g\"" "$src/dkms.conf"
fi
dkms add "ib_ipoib/$ver"
for k in $kernels; do
	dkms build "ib_ipoib/$ver" -k "$k"
	dkms install "ib_ipoib/$ver" -k "$k"
done
dkms status -m ib_ipoib
