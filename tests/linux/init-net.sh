#!/bin/sh
# init-net.sh - /init of tests/linux/run-linux-net: `vmm run --net` from the
# guest's side. The kernel command line says which run this is:
#  vmmnet=user: eth0 is user-mode networking (libslirp): DHCP with udhcpc,
#    a file fetched from the host's HTTP server through 10.0.2.2 (port
#    vmmport=), a TCP listener on port 7000 the host reaches through
#    hostfwd; eth1 and eth2 are the two ends of one in-process pair: an ARP
#    request sent on eth1 is answered by eth2;
#  vmmnet=tap: eth0 is a TAP interface whose host end is 10.11.0.1 in the
#    test's network namespace: ping, the same HTTP fetch, the same listener.
# Every line the test compares starts with "T: ".
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for w in $(cat /proc/cmdline); do
	case $w in vmmnet=*) mode=${w#vmmnet=} ;; vmmport=*) port=${w#vmmport=} ;; esac
done
echo "T: init running ($mode)"
for m in $(cat /modules.order); do
	insmod /modules/$m 2>/dev/null
done
want=eth0
[ "$mode" = user ] && want=eth2
n=0
while [ ! -e /sys/class/net/$want ] && [ $n -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
ip link set lo up
ip link set eth0 up
if [ "$mode" = user ]; then
	udhcpc -i eth0 -s /bin/dhcp-script -n -q -t 10 -T 2 >/dev/null 2>&1 ||
		echo "T: udhcpc failed"
	echo "T: dhcp: $(cat /tmp/dhcp 2>/dev/null)"
	host=10.0.2.2
else
	ip addr add 10.11.0.2/24 dev eth0
	host=10.11.0.1
	n=0
	until ping -c 1 -W 1 $host >/dev/null 2>&1 || [ $n -ge 30 ]; do n=$((n + 1)); done
	echo "T: ping: $(ping -c 3 -W 5 $host | grep 'packets transmitted')"
fi
# (no -T: busybox 1.35 wget crashes on it)
echo "T: http: $(wget -q -O - http://$host:$port/hello.txt 2>&1)"
# The host connects (hostfwd, or straight to 10.11.0.2) and sends a line;
# the listener answers with its own and records the host's.
echo hello-from-guest >/tmp/reply
nc -l -p 7000 </tmp/reply >/tmp/fromhost &
n=0
while ! grep -q . /tmp/fromhost 2>/dev/null && [ $n -lt 600 ]; do sleep 0.1; n=$((n + 1)); done
echo "T: tcp from host: $(cat /tmp/fromhost)"
if [ "$mode" = user ]; then
	# accept_local: eth2 answers an ARP request whose sender (eth1's
	# address) is local too, as it would be on two machines.
	for c in all eth1 eth2; do
		echo 1 >/proc/sys/net/ipv4/conf/$c/accept_local
		echo 0 >/proc/sys/net/ipv4/conf/$c/rp_filter
	done
	ip link set eth1 up
	ip link set eth2 up
	ip addr add 10.9.0.1/24 dev eth1
	ip addr add 10.9.0.2/24 dev eth2
	echo "T: pair: $(arping -c 2 -w 10 -I eth1 10.9.0.2 | grep -o 'Received [0-9]* response')"
fi
sleep 1
echo "T: powering off"
poweroff -f
