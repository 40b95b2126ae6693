/* bench_net.c - `make bench-net`: frames per second and Gbit/s through
 * the virtual switch between two embedder ports (64- and 1500-byte
 * frames, one thread pinned to one core), without and with policies
 * (forged-transmit reject, anti-spoofing, the stateful firewall, shaping
 * at a rate it never reaches), next to a Linux bridge between two veth
 * pairs in network namespaces (tests/bench/run-bench-net sets them up):
 * a raw AF_PACKET socket sends in one namespace and another receives in
 * the other, from the same pinned thread (sendmmsg a batch, then drain
 * with recvmmsg), so both sides count frames delivered end to end.
 * Each figure is the best of 5 interleaved rounds (the machine may be
 * shared).
 *   bench_net [SECONDS] [NS_A IF_A NS_B IF_B] */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "vmm.h"

#define BATCH 64

static const uint8_t MA[6] = { 0x02, 0, 0, 0, 0, 0xa }, MB[6] = { 0x02, 0, 0, 0, 0, 0xb };
static uint64_t got_frames;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void count(void *opaque, vmm_net_port *port, const void *frame, size_t len)
{
	got_frames++;
}

/* A UDP/IPv4 frame of len bytes from a (10.0.0.1:1000) to b (10.0.0.2:2000). */
static void frame(uint8_t *f, size_t len, const uint8_t *dst, const uint8_t *src)
{
	uint16_t ip_len = (uint16_t)(len - 14), udp_len = (uint16_t)(len - 34);

	memset(f, 0, len);
	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	f[12] = 0x08;
	f[14] = 0x45;
	f[16] = (uint8_t)(ip_len >> 8), f[17] = (uint8_t)ip_len;
	f[22] = 64, f[23] = 17;
	f[26] = 10, f[29] = 1, f[30] = 10, f[33] = 2;
	f[34] = 1000 >> 8, f[35] = 1000 & 0xff, f[36] = 2000 >> 8, f[37] = 2000 & 0xff;
	f[38] = (uint8_t)(udp_len >> 8), f[39] = (uint8_t)udp_len;
	uint32_t sum = 0;
	for (int i = 14; i < 34; i += 2)
		sum += (uint32_t)(f[i] << 8 | f[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	f[24] = (uint8_t)(~sum >> 8), f[25] = (uint8_t)~sum;   /* a bridge may check it */
}

enum { P_SEC = 1, P_SPOOF = 2, P_FW = 4, P_SHAPE = 8, P_ALL = 15 };

static void policies(vmm_net_policy *p, unsigned which)
{
	static const uint32_t bound[] = { 0x0a000001, 0x0a000002 };
	static const vmm_net_fw_rule rule = { VMM_NET_FW_ALLOW, 3, 17, 0, 0, 0, 0, 0, 0, 0, 0 };

	*p = (vmm_net_policy)VMM_NET_POLICY_INIT;
	if (which & P_SEC)
		p->flags &= ~(uint32_t)VMM_NET_SEC_FORGED;
	if (which & P_SPOOF)
		p->flags |= VMM_NET_ANTISPOOF;
	if (which & P_FW)
		p->flags |= VMM_NET_FIREWALL;
	p->ipv4 = bound;
	p->nipv4 = 2;
	p->rules = &rule;
	p->nrules = 1;
	if (which & P_SHAPE) {
		p->shape_in = (vmm_net_shaping){ 1000000000000ull, 0, 1u << 30 };
		p->shape_out = p->shape_in;
	}
}

static double bench_switch(size_t len, unsigned which, double secs)
{
	vmm_switch_config sc = VMM_SWITCH_CONFIG_INIT;
	vmm_net_port_config pc = VMM_NET_PORT_CONFIG_INIT;
	vmm_net_policy pol;
	vmm_switch *sw;
	vmm_net_port *a, *b;
	uint8_t f[1600], back[64];
	uint64_t sent = 0;
	double t0, t;

	policies(&pol, which);
	vmm_switch_create(&sc, &sw);
	pc.rx = count;
	pc.policy = &pol;
	memcpy(pc.mac, MA, 6);
	vmm_net_port_create(sw, &pc, &a);
	memcpy(pc.mac, MB, 6);
	vmm_net_port_create(sw, &pc, &b);
	frame(back, 60, MA, MB);                   /* B speaks once: learned */
	vmm_net_port_send(b, back, 60);
	frame(f, len, MB, MA);
	got_frames = 0;
	t0 = now();
	do {
		for (int i = 0; i < 4096; i++)
			vmm_net_port_send(a, f, len);
		sent += 4096;
		t = now() - t0;
	} while (t < secs);
	vmm_switch_destroy(sw);
	if (got_frames != sent)
		fprintf(stderr, "bench_net: %llu of %llu frames arrived\n",
			(unsigned long long)got_frames, (unsigned long long)sent);
	return got_frames / t;
}

static int in_ns(const char *ns, int *fd_out, const char *ifname, int *ifindex)
{
	char path[128];
	int self = open("/proc/self/ns/net", O_RDONLY), fd, s = -1;
	struct ifreq ifr;

	snprintf(path, sizeof(path), "/run/netns/%s", ns);
	if (self < 0 || (fd = open(path, O_RDONLY)) < 0) {
		fprintf(stderr, "bench_net: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (setns(fd, CLONE_NEWNET) == 0) {
		s = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK, htons(ETH_P_ALL));
		memset(&ifr, 0, sizeof(ifr));
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
		if (s >= 0 && ioctl(s, SIOCGIFINDEX, &ifr) == 0) {
			struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL),
						   .sll_ifindex = ifr.ifr_ifindex };
			int big = 1 << 24;

			*ifindex = ifr.ifr_ifindex;
			setsockopt(s, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big));
			if (bind(s, (struct sockaddr *)&sll, sizeof(sll)) != 0) {
				close(s);
				s = -1;
			}
		}
		setns(self, CLONE_NEWNET);
	}
	if (s < 0)
		fprintf(stderr, "bench_net: a packet socket on %s in %s: %s\n", ifname, ns,
			strerror(errno));
	close(fd);
	close(self);
	*fd_out = s;
	return s >= 0 ? 0 : -1;
}

static uint64_t drain(int rx)
{
	static uint8_t bufs[BATCH][2048];
	struct mmsghdr m[BATCH];
	struct iovec v[BATCH];
	uint64_t n = 0;
	int k;

	for (int i = 0; i < BATCH; i++) {
		v[i] = (struct iovec){ bufs[i], sizeof(bufs[i]) };
		m[i] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &v[i], .msg_iovlen = 1 } };
	}
	while ((k = recvmmsg(rx, m, BATCH, MSG_DONTWAIT, NULL)) > 0)
		for (int i = 0; i < k; i++)
			n += m[i].msg_len >= 14 && !memcmp(bufs[i] + 6, MA, 6);
	return n;
}

static double bench_bridge(char **ns, size_t len, double secs)
{
	static uint8_t f[1600];
	struct mmsghdr m[BATCH];
	struct iovec v = { f, len };
	int tx, rx, txi, rxi, k;
	uint64_t got = 0, sent = 0;
	double t0, t;

	if (in_ns(ns[0], &tx, ns[1], &txi) || in_ns(ns[2], &rx, ns[3], &rxi))
		return -1;
	frame(f, len, MB, MA);
	for (int i = 0; i < BATCH; i++)
		m[i] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &v, .msg_iovlen = 1 } };
	drain(rx);
	if (sendmmsg(tx, m, 1, 0) != 1)
		fprintf(stderr, "bench_net: sendmmsg on %s: %s\n", ns[1], strerror(errno));
	usleep(10000);
	if (drain(rx) != 1)
		fprintf(stderr, "bench_net: a frame sent on %s did not arrive on %s\n", ns[1], ns[3]);
	t0 = now();
	do {
		if ((k = sendmmsg(tx, m, BATCH, 0)) > 0)
			sent += (uint64_t)k;
		got += drain(rx);
		t = now() - t0;
	} while (t < secs);
	usleep(20000);
	got += drain(rx);
	if (got < sent * 99 / 100)
		fprintf(stderr, "bench_net: the bridge delivered %llu of %llu frames sent\n",
			(unsigned long long)got, (unsigned long long)sent);
	close(tx);
	close(rx);
	return got / t;
}

static void line(const char *what, size_t len, double fps)
{
	printf("  %-34s %5zu B  %10.0f frames/s  %7.3f Gbit/s", what, len, fps,
	       fps * len * 8 / 1e9);
	if (what[0] != ' ')
		printf("\n");
}

static double best(double a, double b)
{
	return a > b ? a : b;
}

int main(int argc, char **argv)
{
	static const struct { const char *name; unsigned which; } cfg[] = {
		{ "libvmm switch, embedder ports", 0 },
		{ "  forged transmits reject", P_SEC },
		{ "  anti-spoofing", P_SPOOF },
		{ "  firewall (tracked UDP flow)", P_FW },
		{ "  shaping in and out", P_SHAPE },
		{ "  all four", P_ALL },
	};
	enum { NCFG = sizeof(cfg) / sizeof(cfg[0]) };
	static const size_t sizes[2] = { 64, 1500 };
	double secs = argc > 1 ? atof(argv[1]) : 1.0, fps[2][NCFG] = { { 0 } }, br[2] = { 0 };
	const int rounds = 5;
	const char *only = getenv("BENCH_NET_ONLY");   /* a config index, for profiling */
	cpu_set_t one;

	CPU_ZERO(&one);
	CPU_SET(sched_getcpu(), &one);
	sched_setaffinity(0, sizeof(one), &one);   /* one core for all of it */
	printf("bench_net: best of %d interleaved rounds of %.2f s per figure, one thread "
	       "pinned to CPU %d; policies on both ports\n", rounds, secs / rounds,
	       sched_getcpu());
	for (int r = 0; r < rounds; r++)
		for (int i = 0; i < 2; i++) {
			for (int c = 0; c < NCFG; c++)
				if (!only || atoi(only) == c)
					fps[i][c] = best(fps[i][c], bench_switch(sizes[i], cfg[c].which,
										 secs / rounds));
			if (argc > 5)
				br[i] = best(br[i], bench_bridge(argv + 2, sizes[i], secs / rounds));
		}
	for (int i = 0; i < 2; i++) {
		for (int c = 0; c < NCFG; c++) {
			line(cfg[c].name, sizes[i], fps[i][c]);
			if (c)
				printf("      (%+.1f%%)\n", 100.0 * (fps[i][c] / fps[i][0] - 1));
		}
		if (br[i] > 0)
			line("Linux bridge, veth + AF_PACKET", sizes[i], br[i]);
	}
	for (int i = 0; i < 2; i++) {
		printf("%zu B: all policies cost %.1f%% (goal <= 20%%)", sizes[i],
		       100.0 * (1 - fps[i][NCFG - 1] / fps[i][0]));
		if (br[i] > 0)
			printf("; switch / Linux bridge = %.2fx (goal >= 2x)", fps[i][0] / br[i]);
		else
			printf("; Linux bridge NOT RUN (no namespaces given or set up)");
		printf("\n");
	}
	return 0;
}
