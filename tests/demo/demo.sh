#!/bin/bash
# `make demo`: build for the newest installed 6.12 kernel (or $KVER), boot two
# soft-RoCE guests, load the driver in both, bring ib0 up with IPv4 and IPv6,
# ping across and print a short summary.
set -uo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
LAB=$REPO/tests/lab
cd "$REPO" || exit 1

"$LAB/deps.sh" install || { echo "demo: the lab's packages are missing (see above)" >&2; exit 1; }
KVER=${KVER:-$("$LAB/deps.sh" kernels | tail -n 1)}
[[ -n $KVER ]] || { echo "demo: no usable kernel" >&2; exit 1; }

echo "== building ib_ipoib for $KVER"
make -s -C "$REPO" KVER="$KVER" >/dev/null || { echo "demo: build failed" >&2; exit 1; }

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
