/*
 * The drop benchmark's traffic: UDP datagrams of 64 bytes to ADDR:PORT
 * for SECONDS, as fast as sendmmsg() goes; prints how many it sent.
 * With IFACE DSTMAC, whole Ethernet frames go out through a packet
 * socket that skips the sender's own IP stack and qdisc, so that the
 * receiver's cost, not the sender's, sets the pace.
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

	if (argc != 4 && argc != 6) {
		fprintf(stderr, "usage: udpflood ADDR PORT SECONDS [IFACE DSTMAC]\n");
		return 2;
	}
	inet_pton(AF_INET, argv[1], &dst.sin_addr);
	dst.sin_port = htons((unsigned short)atoi(argv[2]));
	if (argc == 6) {
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
