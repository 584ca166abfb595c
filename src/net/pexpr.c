/*
 * loupe's side of libpcap: tcpdump expressions compiled to classic BPF
 * for Ethernet, the classic program printed as tcpdump prints it (with
 * libpcap's own bpf_image, so the text is the same byte for byte), and
 * pcap files read. libpcap's struct bpf_insn has the layout of the
 * kernel's struct sock_filter, which the rest of loupe uses.
 */
#include <stdlib.h>
#include <string.h>
#include <pcap/pcap.h>
#include "pexpr.h"

_Static_assert(sizeof(struct bpf_insn) == sizeof(struct sock_filter),
	       "libpcap's instructions are not the kernel's classic ones");

char *pexpr_join(int argc, char **argv)
{
	size_t len = 1;
	char *s;

	for (int i = 0; i < argc; i++)
		len += strlen(argv[i]) + 1;
	s = malloc(len);
	if (!s)
		return NULL;
	s[0] = '\0';
	for (int i = 0; i < argc; i++) {
		if (i)
			strcat(s, " ");
		strcat(s, argv[i]);
	}
	return s;
}

int pexpr_compile(const char *expr, struct sock_filter **insns, size_t *n,
		  char *err, size_t errlen)
{
	struct bpf_program prog;
	pcap_t *p;
	int ret = -1;

	p = pcap_open_dead(DLT_EN10MB, PEXPR_SNAPLEN);
	if (!p) {
		snprintf(err, errlen, "libpcap cannot open a dead handle");
		return -1;
	}
	if (pcap_compile(p, &prog, expr, 1, 0)) {
		snprintf(err, errlen, "%s", pcap_geterr(p));
		goto out;
	}
	*insns = malloc(prog.bf_len * sizeof(**insns));
	if (!*insns) {
		snprintf(err, errlen, "out of memory");
	} else {
		memcpy(*insns, prog.bf_insns, prog.bf_len * sizeof(**insns));
		*n = prog.bf_len;
		ret = 0;
	}
	pcap_freecode(&prog);
out:
	pcap_close(p);
	return ret;
}

void pexpr_dump(FILE *f, const struct sock_filter *insns, size_t n,
		int level)
{
	const struct bpf_insn *in = (const struct bpf_insn *)insns;

	if (level >= 3)
		fprintf(f, "%zu\n", n);
	for (size_t i = 0; i < n; i++) {
		if (level == 1)
			fprintf(f, "%s\n", bpf_image(&in[i], (int)i));
		else if (level == 2)
			fprintf(f, "{ 0x%x, %d, %d, 0x%08x },\n", in[i].code,
				in[i].jt, in[i].jf, in[i].k);
		else
			fprintf(f, "%u %u %u %u\n", in[i].code, in[i].jt,
				in[i].jf, in[i].k);
	}
}

unsigned int pexpr_filter(const struct sock_filter *insns, size_t n,
			  const unsigned char *pkt, unsigned int caplen,
			  unsigned int wirelen)
{
	struct bpf_program prog = {
		.bf_len = (unsigned int)n,
		.bf_insns = (struct bpf_insn *)insns,
	};
	struct pcap_pkthdr h = { .caplen = caplen, .len = wirelen };

	return (unsigned int)pcap_offline_filter(&prog, &h, pkt);
}

int pexpr_read_file(const char *path, pexpr_packet_fn fn, void *ctx,
		    char *err, size_t errlen)
{
	char perr[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const unsigned char *data;
	pcap_t *p;
	int ret = 0, r;

	p = pcap_open_offline(path, perr);
	if (!p) {
		snprintf(err, errlen, "%s", perr);
		return -1;
	}
	if (pcap_datalink(p) != DLT_EN10MB) {
		snprintf(err, errlen, "%s: not an Ethernet capture (link type %s)",
			 path, pcap_datalink_val_to_name(pcap_datalink(p)) ?:
			 "unknown");
		ret = -1;
		goto out;
	}
	while ((r = pcap_next_ex(p, &h, &data)) == 1) {
		ret = fn(ctx, data, h->caplen, h->len);
		if (ret)
			goto out;
	}
	if (r == PCAP_ERROR) {
		snprintf(err, errlen, "%s: %s", path, pcap_geterr(p));
		ret = -1;
	}
out:
	pcap_close(p);
	return ret;
}

struct pexpr_writer {
	pcap_t *p;
	pcap_dumper_t *d;
};

struct pexpr_writer *pexpr_writer_open(const char *path, unsigned int snaplen,
				       char *err, size_t errlen)
{
	struct pexpr_writer *w = calloc(1, sizeof(*w));

	if (!w) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	w->p = pcap_open_dead(DLT_EN10MB, (int)snaplen);
	if (!w->p) {
		snprintf(err, errlen, "libpcap cannot open a dead handle");
		free(w);
		return NULL;
	}
	w->d = pcap_dump_open(w->p, path);
	if (!w->d) {
		snprintf(err, errlen, "%s", pcap_geterr(w->p));
		pcap_close(w->p);
		free(w);
		return NULL;
	}
	return w;
}

void pexpr_writer_add(struct pexpr_writer *w, unsigned long long ts_ns,
		      const void *data, unsigned int caplen, unsigned int len)
{
	struct pcap_pkthdr h = {
		.ts = {
			.tv_sec = (time_t)(ts_ns / 1000000000ULL),
			.tv_usec = (suseconds_t)(ts_ns % 1000000000ULL / 1000),
		},
		.caplen = caplen,
		.len = len,
	};

	pcap_dump((unsigned char *)w->d, &h, data);
}

int pexpr_writer_flush(struct pexpr_writer *w)
{
	return pcap_dump_flush(w->d) ? -1 : 0;
}

void pexpr_writer_close(struct pexpr_writer *w)
{
	if (!w)
		return;
	pcap_dump_close(w->d);
	pcap_close(w->p);
	free(w);
}
