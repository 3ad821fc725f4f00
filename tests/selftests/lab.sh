#!/bin/bash
# `make selftests`: the whole kselftest suite (tests/selftests) in one lab guest per
# kernel, the way it runs under virtme-ng: tests/selftests/lab-suite.sh boots one
# guest (1 vCPU, LAB_MEM MiB, default 2048) and runs `make -C tests/selftests
# run_tests` in it, every scenario one after another, then checks the KTAP.
#
#   tests/selftests/lab.sh            both tested kernels (newest 6.1.* and 6.12.*)
#   KVER=<release> tests/selftests/lab.sh
#
# Builds first what the suite's scenarios load: the module, its shared-workqueue
# control (softib-ours-deadlock-control), softib and the rdma_cm probe for each kernel, the
# DKMS install (dkms-modprobe), the test tools and the kernel's selftest machinery
# (tests/drivers-net/prepare.sh). The suite's output is in
# build/lab/results/<release>/lab-suite/suite.tap, each scenario's artefacts beside it
# (selftests/NAME/). Ends with "N passed, N failed" and the duration; not part of
# `make check`, which runs the same scenarios each in a guest of its own.
# shellcheck source-path=SCRIPTDIR source=../lab/entry-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lab/entry-lib.sh" selftests

{
start=$SECONDS
need_lab_packages
if [[ -n ${KVER:-} ]]; then
	KERNELS=("$KVER")
else
	mapfile -t KERNELS < <("$LAB/deps.sh" kernels)
	((${#KERNELS[@]})) || die "no tested kernel with headers installed"
fi
export LAB_MEM=${LAB_MEM:-2048}

tally_start
step "test tools" "$REPO/tests/tools/build-tools.sh"
step "kernel selftest machinery (linux-source-6.12)" "$REPO/tests/drivers-net/prepare.sh"
step "dkms-install [${KERNELS[*]}]" make -C "$REPO" dkms-install KVER="${KERNELS[*]}"
for k in "${KERNELS[@]}"; do
	echo "=== $k"
	build_for_kernel "$k" || continue
	run_lab "$k" "${MOD[@]}" -o "$REPO/build/lab/results/$k" "$REPO/tests/selftests/lab-suite.sh"
	grep -h '^# # Totals: ' "$REPO/build/lab/results/$k/lab-suite/suite.tap" 2>/dev/null |
		sed "s/^# # /suite [$k]: /"
done
t=$((SECONDS - start))
echo "make selftests took ${t}s ($((t / 60)) min $((t % 60)) s) for ${KERNELS[*]}"
tally_end
exit
}
