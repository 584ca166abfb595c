/* loupe sockmap: what its kernel and user sides share. */
#ifndef LOUPE_SOCKMAP_H
#define LOUPE_SOCKMAP_H

/* A TCP connection as its sender sees it (IPv4, ports in host order). */
struct sockmap_key {
	unsigned int local_ip;
	unsigned int remote_ip;
	unsigned int local_port;
	unsigned int remote_port;
};

/* Counter entries: messages sent to the local peer, and those not. */
enum {
	SOCKMAP_REDIRECTED,
	SOCKMAP_PASSED,
	SOCKMAP_NCOUNTERS,
};

struct sockmap_counter {
	unsigned long long msgs;
	unsigned long long bytes;
};

#endif
