# kernel.sh - the test host's kernel: a Debian cloud kernel package fetched
# with apt-get download and unpacked with dpkg-deb -x (never installed).
# Sourced by tests/hosts/run-in-host after common.sh.
#
# Cache: $HOSTS_BUILD/kernel/<package>_<version>/ holds vmlinuz, the KVM
# modules (decompressed, with their dependencies) and modules.order-<arch>
# (the insmod order). A ".complete" file marks a finished entry.

KERNEL_META=linux-image-cloud-amd64
# Top-level modules per architecture; dependencies are found with modinfo.
declare -A KVM_MODULE_OF=([svm]=kvm-amd [vmx]=kvm-intel)
# The virtio drivers a Linux guest of libvmm loads (tests/linux), in order.
GUEST_MODULES="virtio_pci virtio_blk virtio_net virtio_console virtio-rng vmw_vsock_virtio_transport"
# Extra module sets, each cached with its dependencies as modules.order-NAME
# (only what the base sets above do not have): the SCSI disk stack a guest
# loads for virtio-scsi (tests/linux/run-linux-scsi), and the kernel's iSCSI
# target (LIO) with its file backend for the svm host's ALUA test
# (tests/linux/in-host-alua.sh), loaded there by the test itself.
declare -A EXTRA_MODULES=([guest-scsi]="sd_mod virtio_scsi"
                          [lio]="target_core_file iscsi_target_mod")
# Bumped when the cache entry gains files: older entries are fetched again.
KERNEL_CACHE_FORMAT=4

# kernel_package: the versioned image package KERNEL_META depends on, or the
# one named by VMM_HOST_KERNEL_PKG. Prints "PACKAGE VERSION".
kernel_package() {
    local pkg=${VMM_HOST_KERNEL_PKG:-} ver
    if [ -z "$pkg" ]; then
        if ! apt_lists_present && [ "${VMM_HOSTS_INSTALL:-0}" = 1 ]; then
            apt_update
        fi
        pkg=$(apt-cache depends "$KERNEL_META" 2>/dev/null |
              awk '$1 == "Depends:" && $2 ~ /^linux-image-/ { print $2; exit }')
        [ -n "$pkg" ] || die_prereq "apt-cache does not know $KERNEL_META" \
            "(or names no linux-image-* package for it); run: apt-get update"
    fi
    ver=$(apt-cache show --no-all-versions "$pkg" 2>/dev/null |
          awk '$1 == "Version:" { print $2; exit }')
    [ -n "$ver" ] || die_prereq "apt-cache has no version of $pkg; run: apt-get update"
    printf '%s %s\n' "$pkg" "$ver"
}

# kernel_choice: kernel_package, remembered in $HOSTS_BUILD/kernel-choice
# until apt's package lists change (apt-cache takes ~0.6 s per call when
# apt keeps no binary cache, as in Debian's container images).
kernel_choice() {
    local key line file=$HOSTS_BUILD/kernel-choice
    key=$(stat -c '%n %s %Y' /var/lib/apt/lists/* 2>/dev/null |
          hash_of "${VMM_HOST_KERNEL_PKG:-}" "file:/dev/stdin")
    if [ -f "$file" ] && read -r line <"$file" && [ "${line%% *}" = "$key" ]; then
        printf '%s\n' "${line#* }"
        return 0
    fi
    line=$(kernel_package) || exit
    mkdir -p "$HOSTS_BUILD"
    printf '%s %s\n' "$key" "$line" >"$file.$$" && mv "$file.$$" "$file"
    printf '%s\n' "$line"
}

# kernel_dir PACKAGE VERSION: the cache directory for that kernel.
kernel_dir() {
    printf '%s/kernel/%s_%s\n' "$HOSTS_BUILD" "$1" "${2//:/%}"
}

# kernel_fetch PACKAGE VERSION: fill the cache entry (call under with_lock).
kernel_fetch() {
    local pkg=$1 ver=$2 dir tmp deb
    dir=$(kernel_dir "$pkg" "$ver")
    [ "$(cat "$dir/.complete" 2>/dev/null)" = "$KERNEL_CACHE_FORMAT" ] && return 0
    say "fetching kernel $pkg $ver (apt-get download, one time)"
    tmp=$(mktemp -d "$HOSTS_BUILD/kernel-tmp.XXXXXX") || die "mktemp failed"
    # kernel_fetch runs in with_lock's subshell: this trap is that subshell's.
    # shellcheck disable=SC2064
    trap "rm -rf '$tmp'" EXIT
    if ! (cd "$tmp" && apt-get download "$pkg=$ver") >"$tmp/apt.log" 2>&1; then
        sed 's/^/  /' "$tmp/apt.log" >&2
        die_prereq "apt-get download $pkg=$ver failed (network or apt sources;" \
            "try: apt-get update)"
    fi
    deb=$(find "$tmp" -maxdepth 1 -name '*.deb' | head -n1)
    [ -n "$deb" ] || die "apt-get download $pkg left no .deb in $tmp"
    dpkg-deb -x "$deb" "$tmp/root" || die "dpkg-deb -x $deb failed"
    kernel_keep "$tmp/root" "$tmp/keep"
    if ! { rm -rf "$dir" && mkdir -p "${dir%/*}" && mv "$tmp/keep" "$dir"; }; then
        die "could not move the kernel into $dir"
    fi
    echo "$KERNEL_CACHE_FORMAT" >"$dir/.complete"
    kernel_prune "$dir"
}

# kernel_keep ROOT OUT: copy vmlinuz and the KVM modules (plus dependencies,
# decompressed) from an unpacked package ROOT into OUT.
kernel_keep() {
    local root=$1 out=$2 vmlinuz arch
    mkdir -p "$out/modules"
    vmlinuz=$(find "$root/boot" -maxdepth 1 -name 'vmlinuz-*' 2>/dev/null | head -n1)
    [ -n "$vmlinuz" ] || die "no boot/vmlinuz-* in the kernel package"
    cp "$vmlinuz" "$out/vmlinuz"
    cp "$root"/boot/config-* "$out/config" 2>/dev/null || true
    for arch in svm vmx guest; do
        if [ "$arch" = guest ]; then
            for m in $GUEST_MODULES; do module_closure "$root" "$m" || exit; done \
                >"$out/order.tmp"
        else
            module_closure "$root" "${KVM_MODULE_OF[$arch]}" >"$out/order.tmp" || exit
        fi
        awk '!seen[$0]++' "$out/order.tmp" >"$out/modules.order-$arch"
        rm -f "$out/order.tmp"
        kernel_copy_order "$root" "$out" "$arch"
    done
    for arch in "${!EXTRA_MODULES[@]}"; do
        for m in ${EXTRA_MODULES[$arch]}; do module_closure "$root" "$m" || exit; done \
            >"$out/order.tmp"
        # what the guest (or host) list loads already stays out
        awk 'FILENAME != "-" { seen[$0]; next } !($0 ".ko" in seen) && !done[$0]++' \
            "$out/modules.order-guest" "$out/modules.order-svm" - <"$out/order.tmp" \
            >"$out/modules.order-$arch"
        rm -f "$out/order.tmp"
        kernel_copy_order "$root" "$out" "$arch"
    done
}

# kernel_copy_order ROOT OUT NAME: copy the modules OUT/modules.order-NAME
# lists (names without .ko) into OUT/modules, then add the .ko suffixes.
kernel_copy_order() {
    local m
    while read -r m; do
        [ -f "$2/modules/$m.ko" ] || module_copy "$1" "$m" "$2/modules/$m.ko"
    done <"$2/modules.order-$3"
    sed -i 's/$/.ko/' "$2/modules.order-$3"
}

# module_file ROOT NAME: path of module NAME (dashes and underscores are the
# same to the kernel) in an unpacked package, compressed or not.
module_file() {
    local root=$1 name=$2 f pat
    pat="$(printf '%s' "$name" | sed 's/[-_]/[-_]/g')"
    f=$(find "$root"/lib/modules/*/kernel -type f \
            \( -name "$pat.ko" -o -name "$pat.ko.xz" -o -name "$pat.ko.zst" \
               -o -name "$pat.ko.gz" \) 2>/dev/null | head -n1)
    [ -n "$f" ] || die "module $name.ko is not in the kernel package" \
        "(kernel config lacks it?)"
    printf '%s\n' "$f"
}

# module_closure ROOT NAME: NAME and its dependencies, dependencies first.
module_closure() {
    local root=$1 name=$2 f dep
    f=$(module_file "$root" "$name") || exit
    for dep in $(modinfo -F depends "$f" | tr ',' ' '); do
        module_closure "$root" "$dep" || exit
    done
    printf '%s\n' "$name"
}

# module_copy ROOT NAME OUT: copy module NAME to OUT, decompressing it
# (busybox insmod may not read compressed modules).
module_copy() {
    local f
    f=$(module_file "$1" "$2") || exit
    case $f in
    *.ko.xz) need_packages xz && xz -dc "$f" >"$3" ;;
    *.ko.zst) need_packages zstd && zstd -qdc "$f" >"$3" ;;
    *.ko.gz) gzip -dc "$f" >"$3" ;;
    *) cp "$f" "$3" ;;
    esac || die "could not decompress $f"
}

# kernel_prune KEEP: remove older kernel cache entries.
kernel_prune() {
    local d
    for d in "$HOSTS_BUILD"/kernel/*/; do
        d=${d%/}
        [ "$d" = "$1" ] || rm -rf "$d"
    done
}
