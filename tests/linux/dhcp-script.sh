#!/bin/sh
# dhcp-script.sh - udhcpc's script in tests/linux/init-net.sh: applies the
# lease and records what the DHCP server (libslirp) gave.
case $1 in
bound|renew)
	ip addr add "$ip/$mask" dev "$interface"
	[ -n "$router" ] && ip route add default via "$router" dev "$interface"
	echo "ip=$ip mask=$mask router=$router dns=$dns" >/tmp/dhcp
	;;
esac
exit 0
