# lib.sh - what the Linux guest tests share (sourced by tests/linux/run-linux*).
# Needs the test hosts' cached Debian cloud kernel (tests/hosts/run-in-host
# --prepare svm puts it under build/hosts/kernel/).

# linux_kernel_dir: prints the cached kernel's folder, or fails.
linux_kernel_dir() {
	local kdir
	tests/hosts/run-in-host --prepare svm >/dev/null 2>&1 || return 1
	kdir=$(ls -d build/hosts/kernel/*/ 2>/dev/null | head -n1)
	[ -n "$kdir" ] && [ -f "$kdir/modules.order-guest" ] || return 1
	echo "$kdir"
}

# linux_initrd KDIR WORK [INIT]: writes WORK/initrd.gz, a busybox initramfs
# whose /init is INIT (tests/linux/init.sh), with the guest's virtio modules.
linux_initrd() {
	local kdir=$1 work=$2 init=${3:-tests/linux/init.sh} a m
	mkdir -p "$work/root/bin" "$work/root/modules" "$work/root"/{proc,sys,dev,tmp}
	cp /bin/busybox "$work/root/bin/"
	for a in sh mount echo cat dd head wc cut grep sleep insmod poweroff dmesg; do
		ln -s busybox "$work/root/bin/$a"
	done
	cp "$init" "$work/root/init"
	cp "$kdir/modules.order-guest" "$work/root/modules.order"
	while read -r m; do cp "$kdir/modules/$m" "$work/root/modules/"; done <"$kdir/modules.order-guest"
	(cd "$work/root" && find . | cpio -o -H newc 2>/dev/null | gzip) >"$work/initrd.gz"
	rm -rf "$work/root"
}

# linux_disk FILE [SIZE]: a disk (16M) whose sector 0 holds the text the
# guest reads.
linux_disk() {
	rm -f "$1"
	truncate -s "${2:-16M}" "$1"
	printf 'LIBVMM-DISK-SECTOR-0-KNOWN-TEXT!' | dd of="$1" conv=notrunc 2>/dev/null
}

# linux_initrd_add INITRD INIT APPLETS BINARY...: appends to INITRD an
# uncompressed archive (no decompression for the guest to emulate) (the kernel unpacks every archive, later files
# replacing earlier ones) with INIT as /init, busybox links for the
# space-separated APPLETS, and each BINARY in /bin with the libraries ldd
# lists at the paths its loader looks in.
linux_initrd_add() {
	local initrd=$1 init=$2 applets=$3 extra a b lib
	shift 3
	extra=$(mktemp -d "$(dirname "$initrd")/extra.XXXXXX")
	mkdir -p "$extra/bin"
	cp "$init" "$extra/init"
	for a in $applets; do ln -s busybox "$extra/bin/$a"; done
	for b in "$@"; do
		cp "$b" "$extra/bin/"
		for lib in $(ldd "$b" | grep -o '/[^ ]*'); do
			mkdir -p "$extra$(dirname "$lib")"
			cp -L "$lib" "$extra$lib"
		done
	done
	# An uncompressed archive must start 4-byte aligned: zeros between
	# archives are skipped.
	truncate -s %4 "$initrd"
	(cd "$extra" && find . | cpio -o -H newc 2>/dev/null) >>"$initrd"
	rm -rf "$extra"
}
