#!/bin/bash
# `make bench`: build for the newest installed 6.12 kernel (or $KVER), boot two soft-RoCE
# guests once and measure, side by side on the same rxe link, IP over ib0 against raw UD
# verbs (perftest):
#   iperf3 TCP over ib0 (receiver bit/s)  vs  ib_send_bw -c UD (receiver, full-MTU sends)
#   ping RTT over ib0 (average)           vs  2 x ib_send_lat -c UD t_avg (perftest
#                                             reports half the round trip)
# Prints "RAW <name> <value> <unit>" lines (also minima, medians, ping over eth0 and
# ib_send_lat in its default polling mode, for context), "RATIO ud_tcp_vs_verbs <x>" and
# "RATIO ud_rtt_vs_verbs <x>", and a note per ratio; artefacts in build/lab/bench/KVER/.
# Asserts no threshold (the figures are emulated and noisy); exits non-zero only if the
# run failed or a figure is missing.
set -uo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
LAB=$REPO/tests/lab
cd "$REPO" || exit 1
start=$SECONDS

if ! "$LAB/deps.sh" check >/dev/null 2>&1; then
	if ((EUID == 0)); then
		"$LAB/deps.sh" install || exit 1
	else
		"$LAB/deps.sh" check >&2
		exit 1
	fi
fi
KVER=${KVER:-$("$LAB/deps.sh" kernels 2>/dev/null | grep '^6\.12\.' | tail -n 1)}
[[ -n $KVER ]] || { echo "bench: no usable 6.12 kernel (set KVER=)" >&2; exit 1; }

echo "== building ib_ipoib for $KVER"
make -s -C "$REPO" KVER="$KVER" >/dev/null || { echo "bench: build failed" >&2; exit 1; }

load() { cut -d' ' -f1-3 /proc/loadavg; }
echo "== one two-guest run (qemu TCG, soft-RoCE), host: $(nproc) CPUs, load average $(load)"
out=$REPO/build/lab/bench/$KVER
dir=$out/bench-scenario
"$LAB/run" -k "$KVER" -m "$REPO/build/$KVER/ib_ipoib.ko" -o "$out" \
	"$REPO/tests/bench/bench-scenario.sh"
rc=$?
echo "   host load average after the run: $(load)"
if ((rc)); then
	echo "bench: the run failed; logs are in $dir" >&2
	exit "$rc"
fi

# Every "BENCH name value unit" line of both guests, then the arithmetic.
cat "$dir"/a.out "$dir"/b.out 2>/dev/null | sed -n 's/^BENCH //p' | awk '
	$2 ~ /^[0-9]+(\.[0-9]+)?$/ { v[$1] = $2 }
	function need(n) { if (!(n in v)) { print "bench: missing figure " n > "/dev/stderr"; bad = 1 } }
	END {
		split("a_vcpus b_vcpus a_ib0_mtu iperf3_tcp_rx iperf3_tcp_tx iperf3_tcp_retransmits " \
		      "verbs_ud_bw_rx verbs_ud_bw_tx ping_ib0_rtt_avg ping_ib0_rtt_min ping_ib0_loss " \
		      "ping_ib0_rtt_median ping_eth0_rtt_avg ping_eth0_rtt_median verbs_ud_lat_avg_oneway " \
		      "verbs_ud_lat_min_oneway verbs_ud_lat_median_oneway " \
		      "verbs_ud_lat_poll_avg_oneway", names, " ")
		for (i in names) need(names[i])
		if (bad) exit 1
		mib = 1048576 * 8 # perftest MB/sec are MiB/s
		bw_rx = v["verbs_ud_bw_rx"] * mib; bw_tx = v["verbs_ud_bw_tx"] * mib
		rtt = 2 * v["verbs_ud_lat_avg_oneway"]
		if (bw_rx <= 0 || rtt <= 0) { print "bench: a verbs figure is zero" > "/dev/stderr"; exit 1 }
		printf "== results (guests: %d vCPU each; ib0 MTU %d)\n", v["a_vcpus"], v["a_ib0_mtu"]
		printf "RAW iperf3_tcp_rx %.0f bit/s\n", v["iperf3_tcp_rx"]
		printf "RAW iperf3_tcp_tx %.0f bit/s\n", v["iperf3_tcp_tx"]
		printf "RAW iperf3_tcp_retransmits %.0f count\n", v["iperf3_tcp_retransmits"]
		printf "RAW verbs_ud_bw_rx %.0f bit/s\n", bw_rx
		printf "RAW verbs_ud_bw_tx %.0f bit/s\n", bw_tx
		if ("verbs_ud_bw_rx_events" in v) {
			bw_ev = v["verbs_ud_bw_rx_events"] * mib
			printf "RAW verbs_ud_bw_rx_events %.0f bit/s\n", bw_ev
			if ("verbs_ud_bw_tx_events" in v)
				printf "RAW verbs_ud_bw_tx_events %.0f bit/s\n", v["verbs_ud_bw_tx_events"] * mib
		} else
			print "(no verbs_ud_bw_rx_events: the optional ib_send_bw -e run failed, see bwev.*.log)"
		printf "RAW ping_ib0_rtt_avg %.1f us\n", v["ping_ib0_rtt_avg"]
		printf "RAW ping_ib0_rtt_min %.1f us\n", v["ping_ib0_rtt_min"]
		printf "RAW ping_ib0_rtt_median %.1f us\n", v["ping_ib0_rtt_median"]
		printf "RAW ping_ib0_loss %s %%\n", v["ping_ib0_loss"]
		printf "RAW ping_eth0_rtt_avg %.1f us\n", v["ping_eth0_rtt_avg"]
		printf "RAW ping_eth0_rtt_median %.1f us\n", v["ping_eth0_rtt_median"]
		printf "RAW verbs_ud_lat_avg_oneway %.2f us\n", v["verbs_ud_lat_avg_oneway"]
		printf "RAW verbs_ud_rtt_avg %.2f us\n", rtt
		printf "RAW verbs_ud_rtt_min %.2f us\n", 2 * v["verbs_ud_lat_min_oneway"]
		printf "RAW verbs_ud_rtt_median %.2f us\n", 2 * v["verbs_ud_lat_median_oneway"]
		printf "RAW verbs_ud_rtt_avg_polling %.2f us\n", 2 * v["verbs_ud_lat_poll_avg_oneway"]
		printf "RATIO ud_tcp_vs_verbs %.3f\n", v["iperf3_tcp_rx"] / bw_rx
		printf "RATIO ud_rtt_vs_verbs %.3f\n", v["ping_ib0_rtt_avg"] / rtt
		printf "NOTE ud_tcp_vs_verbs: both are CPU-bound in one emulated (TCG) vCPU per guest that also runs rxe (software ICRC, UDP/IP framing, a work item per packet); TCP adds copies, checksums and ACKs (rxe offers no UD checksum or LSO offload), while ib_send_bw -D must busy-poll (duration mode refuses -e) and so competes with rxe'"'"'s work items for that vCPU%s; the host'"'"'s own load moves each 10 s window by tens of percent.\n",
			bw_ev ? sprintf(" (against the -e run, verbs_ud_bw_rx_events, the ratio is %.3f)", v["iperf3_tcp_rx"] / bw_ev) : ""
	}' || { echo "bench: incomplete figures; logs are in $dir" >&2; exit 1; }
cat <<-'EOF'
	NOTE ud_rtt_vs_verbs: round trips are mostly waiting to be scheduled: rxe (6.12) queues every send and receive to a work item, so each hop needs a kworker wakeup on a 1-vCPU guest; ping adds the IP stack and ib0 and wakes a process on a only (b echoes from softirq), ib_send_lat -e wakes one on both; averages absorb the host's 10-100 ms stalls (compare the medians), and perftest's default polling fights rxe's kworker (verbs_ud_rtt_avg_polling).
EOF
echo "== wall time $((SECONDS - start)) s (lab run $(cat "$dir/wall-seconds" 2>/dev/null) s); logs in $dir"
