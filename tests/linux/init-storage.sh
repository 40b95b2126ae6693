#!/bin/sh
# init-storage.sh - /init of tests/linux/run-linux-storage: every line the
# test compares starts with "T: "; "@@STORAGE-WAIT what" lines stop the
# guest until the host (which watches the console) types a line back.
#   LUN 0 of the virtio-scsi controller (an sdX disk): an ext2 image the
#        host made, holding known.txt; the guest writes guest.txt (the host
#        reads it back with debugfs), writes and deletes a 4 MiB file, trims
#   LUN 1: a 1 GiB thin qcow2 image: 8 MiB written (the host sees the
#        image grow), then discarded (the host sees it shrink)
#   vda  a 16 MiB raw virtio-blk disk; the host grows it (and LUN 1) while
#        the guest runs (vmm disk resize --control): the guest sees both
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
echo "T: init running"
for m in $(cat /modules.order /modules-scsi.order); do
	insmod /modules/$m || echo "T: insmod $m failed"
done
echo "T: modules loaded"
# lun N: the sdX name of LUN N (the sd driver probes LUNs in any order)
lun() {
	n=0
	while ! ls /sys/bus/scsi/devices/*:*:*:$1/block 2>/dev/null | grep -q '^sd' &&
		[ $n -lt 300 ]; do
		sleep 0.1
		n=$((n + 1))
	done
	ls /sys/bus/scsi/devices/*:*:*:$1/block 2>/dev/null | grep '^sd'
}
sda=$(lun 0)
sdb=$(lun 1)
for l in 0 1; do
	d=$(lun $l)
	n=0
	while [ ! -b /dev/$d ] && [ $n -lt 300 ]; do sleep 0.1; n=$((n + 1)); done
	echo "T: lun $l: /dev/${d%?}?: $(cat /sys/block/$d/size) sectors," \
		"$(echo $(cat /sys/block/$d/device/vendor) $(cat /sys/block/$d/device/model))," \
		"provisioning $(cat /sys/block/$d/device/scsi_disk/*/provisioning_mode)," \
		"discard granularity $(cat /sys/block/$d/queue/discard_granularity)"
done
# LUN 0: the host's file system
mkdir -p /mnt
mount -t ext2 /dev/$sda /mnt && echo "T: lun 0 mounted"
echo "T: known: $(cat /mnt/known.txt)"
echo "written by the guest over virtio-scsi" > /mnt/guest.txt
yes LIBVMM-JUNK-DATA | head -c 4194304 > /mnt/junk
sync
rm /mnt/junk
sync
trimmed=$(fstrim -v /mnt | sed 's/.*: \([0-9]*\) bytes.*/\1/')
[ "${trimmed:-0}" -ge 4194304 ] && echo "T: lun 0: fstrim trimmed at least 4 MiB"
umount /mnt && echo "T: lun 0 unmounted"
# LUN 1: raw writes to the thin qcow2 LUN, then a discard
yes LIBVMM-SCSI-LUN1 | head -c 8388608 | dd of=/dev/$sdb bs=1M conv=fsync 2>/dev/null &&
	echo "T: lun 1: wrote 8 MiB"
echo "@@STORAGE-WAIT written"
read -r answer
blkdiscard -o 0 -l 8388608 /dev/$sdb && echo "T: lun 1: discarded 8 MiB"
echo "T: lun 1: non-zero bytes after the discard: $(dd if=/dev/$sdb bs=1M count=8 2>/dev/null | tr -d '\000' | wc -c)"
# growing disks: vda by the config-change interrupt, LUN 1 by a unit attention
n=0
while [ ! -b /dev/vda ] && [ $n -lt 300 ]; do sleep 0.1; n=$((n + 1)); done
echo "T: vda: $(cat /sys/block/vda/size) sectors"
echo "@@STORAGE-WAIT resize"
read -r answer
n=0
while [ "$(cat /sys/block/vda/size)" = 32768 ] && [ $n -lt 200 ]; do sleep 0.1; n=$((n + 1)); done
echo "T: vda after the resize: $(cat /sys/block/vda/size) sectors"
echo 1 > /sys/block/$sdb/device/rescan
echo "T: lun 1: capacity change reported: $(dmesg | grep -c 'Capacity data has changed')"
echo "T: lun 1 after the rescan: $(cat /sys/block/$sdb/size) sectors"
echo "T: powering off"
poweroff -f
