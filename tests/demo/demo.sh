#!/bin/bash
# `make demo`: build for the newest installed 6.12 kernel (or $KVER), boot two
# soft-RoCE guests, load the driver in both, bring ib0 up with IPv4 and IPv6,
# ping across and print a short summary.
# shellcheck source-path=SCRIPTDIR source=../lab/entry-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lab/entry-lib.sh" demo

need_lab_packages
need_kernel "no usable kernel"

echo "== building ib_ipoib for $KVER"
make -s -C "$REPO" KVER="$KVER" >/dev/null || die "build failed"

echo "== booting two guests (qemu TCG, soft-RoCE on a shared virtual wire)"
out=$REPO/build/lab/demo/$KVER
"$LAB/run" -k "$KVER" -m "$REPO/build/$KVER/ib_ipoib.ko" -o "$out" \
	"$REPO/tests/demo/demo-scenario.sh"
rc=$?
echo
echo "== summary"
cat "$out"/demo-scenario/a.out "$out"/demo-scenario/b.out 2>/dev/null |
	sed -n 's/^DEMO\[\(.\)\] /\1: /p'
if ((rc)); then
	echo "demo: the run failed; logs are in $out/demo-scenario" >&2
fi
exit "$rc"
