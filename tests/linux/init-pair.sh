#!/bin/sh
# init-pair.sh - /init of tests/linux/run-linux-pair: two guests of one
# `vmm up` joined by an in-process virtio-net pair ping each other; guest
# "a" also talks to the host over virtio-vsock, both ways. Every line the
# test compares starts with "T: " (vmm up puts "a: " or "b: " in front).
# The kernel command line says who we are: vmmrole=a|b.
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
role=$(tr ' ' '\n' </proc/cmdline | sed -n 's/^vmmrole=//p')
case $role in
a) me=10.0.0.1 peer=10.0.0.2 ;;
*) me=10.0.0.2 peer=10.0.0.1 ;;
esac
echo "T: init running as $role"
for m in $(cat /modules.order); do
	insmod /modules/$m || echo "T: insmod $m failed"
done
n=0
while [ ! -e /sys/class/net/eth0 ] && [ $n -lt 50 ]; do sleep 0.1; n=$((n + 1)); done
ip link set lo up
ip addr add $me/24 dev eth0 && ip link set eth0 up && echo "T: eth0 $me up"
nc -l -p 7000 </dev/null >/tmp/peer-done &
# The peer may still be booting: wait until it answers, then count.
n=0
until ping -c 1 -W 1 $peer >/dev/null 2>&1 || [ $n -ge 90 ]; do n=$((n + 1)); done
echo "T: ping: $(ping -c 3 -W 5 $peer | grep 'packets transmitted')"
# Stay up until the peer has finished pinging us too.
n=0
until echo finished | nc -w 3 $peer 7000 2>/dev/null || [ $n -ge 100 ]; do sleep 0.3; n=$((n + 1)); done
n=0
while ! grep -q finished /tmp/peer-done && [ $n -lt 300 ]; do sleep 0.1; n=$((n + 1)); done
echo "T: peer finished: $(cat /tmp/peer-done)"
if [ "$role" = b ]; then
	# b's virtio-console goes to a host file the test reads.
	n=0
	while [ ! -c /dev/hvc0 ] && [ $n -lt 50 ]; do sleep 0.1; n=$((n + 1)); done
	echo "written to hvc0 by b" >/dev/hvc0 && echo "T: virtio-console written"
fi
if [ "$role" = a ]; then
	[ -c /dev/vsock ] && echo "T: vsock device present"
	# host -> guest: the host connects to port 5001 through the Unix socket
	# (it retries until this listens).
	socat VSOCK-LISTEN:5001 SYSTEM:'read l; echo "T: vsock from host: $l" >/dev/console; echo hello-from-guest-listener; touch /tmp/h2g' &
	n=0
	while [ ! -e /tmp/h2g ] && [ $n -lt 300 ]; do sleep 0.1; n=$((n + 1)); done
	# guest -> host: port 5000 is the host's Unix socket PATH_5000.
	echo "T: vsock reply: $(echo hello-from-guest | socat -t 5 - VSOCK-CONNECT:2:5000)"
	sleep 0.5
fi
echo "T: powering off"
poweroff -f
