# The module loaded by the lab is the project's ib_ipoib.ko, not the kernel's in-tree one.
# guests: 1
# timeout: 180
#
#   +------------------------------------------+
#   | a   eth0 198.18.1.1/24 -- rxe0 (RoCE v2) |
#   |     insmod $LAB_MODULE (project build)   |
#   +------------------------------------------+

check test -d /sys/module/ib_ipoib
mine=$(modinfo -F srcversion "$LAB_MODULE")
loaded=$(cat /sys/module/ib_ipoib/srcversion)
log "srcversion: loaded $loaded, $LAB_MODULE $mine"
[[ -n $mine && $loaded == "$mine" ]] || fail "loaded ib_ipoib is not $LAB_MODULE"

intree=$(find "/lib/modules/$LAB_KVER/kernel/drivers/infiniband/ulp/ipoib" -name 'ib_ipoib.ko*' 2>/dev/null | head -n 1)
if [[ -n $intree ]]; then
	theirs=$(modinfo -F srcversion "$intree")
	log "in-tree $intree: srcversion '${theirs:-none}'"
	[[ $theirs != "$mine" ]] || fail "the project's module has the in-tree module's srcversion"
else
	log "no in-tree ib_ipoib for $LAB_KVER"
fi

taint=$(cat /sys/module/ib_ipoib/taint)
log "taint flags: $taint"
[[ $taint == *O* ]] || fail "ib_ipoib is not marked out-of-tree (taint '$taint')"

license=$(modinfo -F license "$LAB_MODULE")
version=$(modinfo -F version "$LAB_MODULE")
log "license '$license', version '$version'"
[[ $license == *GPL* ]] || fail "license is '$license', not GPL"
[[ -n $version ]] || fail "no MODULE_VERSION"
[[ $(cat /sys/module/ib_ipoib/version) == "$version" ]] || fail "/sys/module/ib_ipoib/version differs"
