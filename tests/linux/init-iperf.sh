#!/bin/sh
# init-iperf.sh - /init of the virtio-net benchmark guests (tests/bench/
# run-bench-linux): two guests, vmmrole=a (10.0.0.1, iperf3 server for one
# test) and vmmrole=b (10.0.0.2, the client, sending for nettime=S seconds,
# default 10). b prints "N: tcp mbit=MBIT/S" (what the server received).
export PATH=/bin LD_LIBRARY_PATH=/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mkdir -p /tmp
role=$(tr ' ' '\n' </proc/cmdline | sed -n 's/^vmmrole=//p')
t=$(tr ' ' '\n' </proc/cmdline | sed -n 's/^nettime=//p')
echo "T: init running as $role"
for m in $(cat /modules.order); do insmod /modules/$m 2>/dev/null; done
n=0
while [ ! -e /sys/class/net/eth0 ] && [ $n -lt 50 ]; do sleep 0.1; n=$((n + 1)); done
ip link set lo up
if [ "$role" = a ]; then
	ip addr add 10.0.0.1/24 dev eth0 && ip link set eth0 up
	iperf3 -s -1 >/dev/null 2>&1
	echo "N: server done"
else
	ip addr add 10.0.0.2/24 dev eth0 && ip link set eth0 up
	n=0                               # the server may still be booting
	until ping -c 1 -W 1 10.0.0.1 >/dev/null 2>&1 || [ $n -ge 120 ]; do n=$((n + 1)); done
	sleep 1
	n=0
	until out=$(iperf3 -c 10.0.0.1 -t "${t:-10}" -f m 2>&1) || [ $n -ge 20 ]; do
		sleep 1; n=$((n + 1))
	done
	echo "$out" | awk '/receiver/ { for (i = 1; i < NF; i++) if ($(i + 1) == "Mbits/sec")
		printf "N: tcp mbit=%s\n", $i }'
fi
poweroff -f
