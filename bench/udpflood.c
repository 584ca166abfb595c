/*
 * The drop benchmark's traffic: UDP datagrams of 64 bytes to ADDR:PORT
 * for SECONDS, as fast as sendmmsg() goes; prints how many it sent.
 * With IFACE DSTMAC, whole Ethernet frames go out through a packet
 * socket that skips the sender's own IP stack and qdisc, so that the
 * receiver's cost, not the sender's, sets the pace. With IFACE DSTMAC
 * live, the kernel makes the frames itself (the xdp-trafficgen way,
 * Linux 5.18+): BPF_PROG_TEST_RUN of an XDP program that redirects to
 * IFACE, with BPF_F_TEST_XDP_LIVE_FRAMES, repeats each frame from a page
 * pool without a socket buffer; on a veth the peer takes them in its
 * NAPI poll (the peer needs an XDP program or GRO on).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>

#define BATCH	64
#define PAYLOAD	64

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static unsigned short ip_csum(const unsigned char *h, int n)
{
	unsigned long sum = 0;

	for (int i = 0; i < n; i += 2)
		sum += h[i] << 8 | h[i + 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (unsigned short)~sum;
}

/* An Ethernet/IPv4/UDP frame from the interface's address to dst. */
static int build_frame(int fd, const char *iface, const char *dstmac,
		       struct in_addr dst, unsigned short port,
		       unsigned char *f)
{
	struct ifreq ifr = { 0 };
	unsigned char *ip = f + 14, *udp = ip + 20;
	unsigned short cs;
	struct in_addr src;

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", iface);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr))
		return -1;
	if (sscanf(dstmac, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &f[0], &f[1],
		   &f[2], &f[3], &f[4], &f[5]) != 6)
		return -1;
	memcpy(f + 6, ifr.ifr_hwaddr.sa_data, 6);
	f[12] = 0x08;
	f[13] = 0x00;
	src.s_addr = dst.s_addr ^ htonl(3);	/* .2 -> .1 */
	ip[0] = 0x45;
	ip[2] = (20 + 8 + PAYLOAD) >> 8;
	ip[3] = (20 + 8 + PAYLOAD) & 0xff;
	ip[8] = 64;
	ip[9] = 17;
	memcpy(ip + 12, &src, 4);
	memcpy(ip + 16, &dst, 4);
	cs = ip_csum(ip, 20);
	ip[10] = cs >> 8;
	ip[11] = cs & 0xff;
	udp[0] = 0x9c;
	udp[1] = 0x40;
	udp[2] = port >> 8;
	udp[3] = port & 0xff;
	udp[4] = 0;
	udp[5] = 8 + PAYLOAD;
	return 0;
}

#define LIVE_REPEAT	(1 << 16)

/* Frames sent as live XDP frames out of ifindex for seconds: -1 on error. */
static long long live_flood(int ifindex, unsigned char *frame, size_t len,
			    double seconds)
{
	struct bpf_insn prog[] = {
		/* return bpf_redirect(ifindex, 0); */
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_1,
		  .imm = ifindex },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_2 },
		{ .code = BPF_JMP | BPF_CALL, .imm = BPF_FUNC_redirect },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	/* The kernel wants data_end = the frame's length in the context. */
	struct xdp_md ctx = { .data_end = (unsigned int)len,
			      .ingress_ifindex = (unsigned int)ifindex };
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame,
		    .data_size_in = (unsigned int)len, .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx), .repeat = LIVE_REPEAT,
		    .flags = BPF_F_TEST_XDP_LIVE_FRAMES, .batch_size = BATCH);
	long long sent = 0;
	double end = now() + seconds;
	int fd;

	fd = bpf_prog_load(BPF_PROG_TYPE_XDP, "udpflood", "GPL", prog, 4,
			   NULL);
	if (fd < 0)
		return -1;
	while (now() < end) {
		if (bpf_prog_test_run_opts(fd, &opts)) {
			close(fd);
			return -1;
		}
		sent += LIVE_REPEAT;
	}
	close(fd);
	return sent;
}

int main(int argc, char **argv)
{
	static unsigned char frame[14 + 20 + 8 + PAYLOAD];
	static char payload[PAYLOAD];
	struct sockaddr_in dst = { .sin_family = AF_INET };
	struct sockaddr_ll ll = { .sll_family = AF_PACKET };
	struct mmsghdr msgs[BATCH];
	unsigned long long sent = 0;
	struct iovec iov;
	double end;
	int fd, one = 1;

	if (argc != 4 && argc != 6 && !(argc == 7 &&
					   !strcmp(argv[6], "live"))) {
		fprintf(stderr, "usage: udpflood ADDR PORT SECONDS [IFACE DSTMAC [live]]\n");
		return 2;
	}
	inet_pton(AF_INET, argv[1], &dst.sin_addr);
	dst.sin_port = htons((unsigned short)atoi(argv[2]));
	if (argc >= 6) {
		fd = socket(AF_PACKET, SOCK_RAW, 0);
		ll.sll_ifindex = (int)if_nametoindex(argv[4]);
		ll.sll_halen = 6;
		if (fd < 0 || !ll.sll_ifindex ||
		    setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one,
			       sizeof(one)) ||
		    bind(fd, (struct sockaddr *)&ll, sizeof(ll)) ||
		    build_frame(fd, argv[4], argv[5], dst.sin_addr,
				(unsigned short)atoi(argv[2]), frame)) {
			perror("udpflood");
			return 1;
		}
		iov.iov_base = frame;
		iov.iov_len = sizeof(frame);
		if (argc == 7) {
			long long n = live_flood(ll.sll_ifindex, frame,
						 sizeof(frame),
						 atof(argv[3]));

			if (n < 0) {
				perror("udpflood: live XDP frames");
				return 1;
			}
			printf("%lld\n", n);
			return 0;
		}
	} else {
		fd = socket(AF_INET, SOCK_DGRAM, 0);
		if (fd < 0 || connect(fd, (struct sockaddr *)&dst,
				      sizeof(dst))) {
			perror("udpflood");
			return 1;
		}
		iov.iov_base = payload;
		iov.iov_len = sizeof(payload);
	}
	memset(msgs, 0, sizeof(msgs));
	for (int i = 0; i < BATCH; i++) {
		msgs[i].msg_hdr.msg_iov = &iov;
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	end = now() + atof(argv[3]);
	while (now() < end) {
		int n = sendmmsg(fd, msgs, BATCH, 0);

		if (n > 0)
			sent += n;
	}
	printf("%llu\n", sent);
	return 0;
}
