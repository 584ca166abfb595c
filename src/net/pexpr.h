/*
 * tcpdump expressions through libpcap: compiled for Ethernet (DLT_EN10MB)
 * into classic BPF, printed the way tcpdump -d/-dd/-ddd prints them, and
 * pcap files read packet by packet. The only file that includes pcap.h
 * (its struct bpf_insn is not the kernel's).
 */
#ifndef LOUPE_PEXPR_H
#define LOUPE_PEXPR_H

#include <stdio.h>
#include <linux/filter.h>

/* tcpdump's default snapshot length: what a match returns. */
#define PEXPR_SNAPLEN	262144

/*
 * Joins argv[0..argc) with spaces, as tcpdump does with the words of
 * its expression; NULL when out of memory. Free the result.
 */
char *pexpr_join(int argc, char **argv);

/*
 * Compiles expr (optimized, netmask 0, as tcpdump -d -r FILE does for an
 * Ethernet capture). On success *insns is malloc'd, *n its length;
 * else -1 with libpcap's message in err.
 */
int pexpr_compile(const char *expr, struct sock_filter **insns, size_t *n,
		  char *err, size_t errlen);

/* tcpdump -d (level 1), -dd (2), -ddd (3 or more). */
void pexpr_dump(FILE *f, const struct sock_filter *insns, size_t n,
		int level);

/*
 * libpcap's own verdict on a packet (pcap_offline_filter): the filter's
 * return value, 0 for no match.
 */
unsigned int pexpr_filter(const struct sock_filter *insns, size_t n,
			  const unsigned char *pkt, unsigned int caplen,
			  unsigned int wirelen);

/* Called for each packet of a file: 0 to go on, else stops with it. */
typedef int (*pexpr_packet_fn)(void *ctx, const unsigned char *pkt,
			       unsigned int caplen, unsigned int wirelen);

/*
 * Reads an Ethernet pcap file: 0, the callback's non-zero, or -1 with
 * the reason in err.
 */
int pexpr_read_file(const char *path, pexpr_packet_fn fn, void *ctx,
		    char *err, size_t errlen);

/* A pcap file being written (Ethernet); "-" is standard output. */
struct pexpr_writer;

struct pexpr_writer *pexpr_writer_open(const char *path, unsigned int snaplen,
				       char *err, size_t errlen);
/* One packet: its time (Unix ns), caplen bytes of a len-byte packet. */
void pexpr_writer_add(struct pexpr_writer *w, unsigned long long ts_ns,
		      const void *data, unsigned int caplen, unsigned int len);
/* Flushes: 0, or -1 if a write failed. */
int pexpr_writer_flush(struct pexpr_writer *w);
void pexpr_writer_close(struct pexpr_writer *w);

#endif
