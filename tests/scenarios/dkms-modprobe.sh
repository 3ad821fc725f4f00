# DKMS: `modprobe ib_ipoib` (not insmod) loads the module that `make dkms-install` put
# on the host under /lib/modules/<release>/updates/dkms (the guest sees the host's root
# read-only), and that module is this project's, not the kernel's in-tree one; the
# in-tree RDMA modules it needs still come from kernel/.
# guests: 1
# timeout: 420
# ipoib: no
#
# The host must have run `make dkms-install KVER=<release>` (as root) before the lab:
# without the DKMS module this scenario fails.
#
#   +-----------------------------------------------------+
#   | a   eth0 198.18.1.1/24 -- rxe0 (RoCE v2)            |
#   |     modprobe ib_ipoib -> updates/dkms/ib_ipoib.ko*  |
#   |     ib0 up, carrier on                              |
#   +-----------------------------------------------------+

mods=/lib/modules/$LAB_KVER
installed=
for f in "$mods"/updates/dkms/ib_ipoib.ko*; do
	[[ -f $f ]] && installed=$f
done
[[ -n $installed ]] || fail "no DKMS-installed ib_ipoib for $LAB_KVER ($mods/updates/dkms/ib_ipoib.ko* is missing): run 'make dkms-install KVER=$LAB_KVER' as root on the host before the lab"
log "DKMS module on the host: $installed"
[[ ! -d /sys/module/ib_ipoib ]] || fail "ib_ipoib was loaded before the scenario modprobed it"

# The in-tree RDMA stack still resolves to kernel/ and modprobes (guest-init loaded it
# for rxe0). Few kmod calls: each one reads the module indexes over 9p, slow under TCG.
rdma=(ib_core ib_cm ib_uverbs rdma_ucm rdma_rxe)
check modprobe -a "${rdma[@]}"
out=$(modinfo -F filename "${rdma[@]}")
mapfile -t files <<<"$out"
((${#files[@]} == ${#rdma[@]})) || fail "modinfo found ${#files[@]} of ${#rdma[@]} modules: ${files[*]}"
for i in "${!rdma[@]}"; do
	m=${rdma[i]} f=${files[i]}
	log "$m: $f"
	[[ $f == "$mods/kernel/"* || $f == "(builtin)" ]] || fail "$m resolves to $f, not the kernel's own module"
	[[ -d /sys/module/$m ]] || fail "$m is not loaded after modprobe -a"
done

# modprobe (through modules.dep, which depmod wrote on the host) picks updates/dkms.
filename=$(modinfo -F filename ib_ipoib)
log "modinfo -F filename ib_ipoib: $filename"
[[ $filename == "$mods/updates/dkms/ib_ipoib.ko"* ]] || fail "modinfo resolves ib_ipoib to $filename, not $mods/updates/dkms"
check modprobe ib_ipoib
check test -d /sys/module/ib_ipoib
check test -e /sys/module/ib_core/holders/ib_ipoib

# It is the installed file, and this project's.
info=$(modinfo "$filename")
field() { sed -n "s/^$1:[[:space:]]*//p" <<<"$info"; }
mine=$(field srcversion) file_version=$(field version)
loaded=$(cat /sys/module/ib_ipoib/srcversion)
log "srcversion: loaded $loaded, $filename $mine"
[[ -n $mine && $loaded == "$mine" ]] || fail "the loaded ib_ipoib is not $filename (srcversion '$loaded', file '$mine')"
[[ -z $(field intree) ]] || fail "$filename says it is an in-tree module"

drv=$(sed -n 's/^#define DRV_VERSION[[:space:]]*"\(.*\)"/\1/p' "$LAB_REPO/ipoib.h")
version=$(cat /sys/module/ib_ipoib/version)
log "version: loaded '$version', file '$file_version', DRV_VERSION '$drv'"
[[ $version == "$file_version" ]] || fail "/sys/module/ib_ipoib/version differs from $filename's"
[[ -n $drv && $version == "$drv+dkms"* ]] || fail "version '$version' is not this project's DKMS build of $drv (stale install? rerun 'make dkms-install KVER=$LAB_KVER')"
klog | grep -F "ib_ipoib: version $version loaded" >/dev/null || fail "no 'ib_ipoib: version $version loaded' in the kernel log"

taint=$(cat /sys/module/ib_ipoib/taint)
log "taint flags: $taint"
[[ $taint == *O* ]] || fail "ib_ipoib is not marked out-of-tree (taint '$taint')"

# And it works: ib0 on rxe0 comes up with carrier.
check port_active rxe0 1
wait_ib0
check ip link set "$IB_IF" up
wait_carrier
log "$IB_IF: $(ip -br link show "$IB_IF")"
