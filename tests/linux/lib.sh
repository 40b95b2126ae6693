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
