#!/bin/bash
# The kernel's own netdev driver selftests (tools/testing/selftests/drivers/net:
# ping.py, stats.py, queues.py), taken from Debian's linux-source-6.12 at test time
# (never copied into this tree), with this project's patch to the rt_link netlink
# spec applied (rt_link-ipoib.patch: the ipoib link kind, without which any link
# dump on a host with an IPoIB interface fails).
#
#   prepare.sh [OUTDIR]   extract into OUTDIR (default build/drivers-net) and print
#                         the tests' directory (OUTDIR/linux-source-6.12/tools/
#                         testing/selftests/drivers/net); kept while the tarball
#                         and the patch are unchanged
#
# Only what the three tests use is extracted: the drivers/net tests and their
# Python library, the net library, the ynl library and the netlink specs; and the
# kselftest runner machinery (tools/testing/selftests/lib.mk and kselftest/:
# runner.sh, ktap_helpers.sh, prefix.pl) that tests/selftests/Makefile includes. The
# tests run "in tree" (KSRC is the extracted root), with NETIF and the endpoint
# given in the environment (see tests/softib/scenarios/softib-ours-drvnet.sh).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
out=$(realpath -m "${1:-$repo/build/drivers-net}")
tarball=
for f in /usr/src/linux-source-6.12.tar.*; do [[ -f $f ]] && tarball=$f && break; done
[[ -n $tarball ]] || {
	echo "prepare.sh: no /usr/src/linux-source-6.12.tar.*: apt-get install linux-source-6.12" >&2
	exit 1
}
top=linux-source-6.12
paths=(
	"$top/tools/testing/selftests/drivers/net/lib"
	"$top/tools/testing/selftests/drivers/net/ping.py"
	"$top/tools/testing/selftests/drivers/net/stats.py"
	"$top/tools/testing/selftests/drivers/net/queues.py"
	"$top/tools/testing/selftests/net/lib/py"
	"$top/tools/net/ynl/lib"
	"$top/Documentation/netlink/specs"
	"$top/tools/testing/selftests/lib.mk"
	"$top/tools/testing/selftests/kselftest"
)
key="$(stat -c '%n %s %Y' "$tarball") $(sha256sum <"$here/rt_link-ipoib.patch")"
tests=$out/$top/tools/testing/selftests/drivers/net
if [[ -f $out/.key && $(<"$out/.key") == "$key" && -f $tests/stats.py &&
	-f $out/$top/tools/testing/selftests/lib.mk ]]; then
	echo "$tests"
	exit 0
fi
rm -rf "$out"
mkdir -p "$out"
tar -C "$out" -xf "$tarball" "${paths[@]}"
patch -s -p1 -d "$out/$top" <"$here/rt_link-ipoib.patch"
echo "$key" >"$out/.key"
echo "$tests"
