/* loupe sockmap: what its kernel and user sides share. */
#ifndef LOUPE_SOCKMAP_H
#define LOUPE_SOCKMAP_H

/*
 * A TCP connection as its sender sees it, ports in host order. Addresses
 * are IPv6, IPv4 ones mapped (::ffff:a.b.c.d), so that an IPv4 socket
 * and a dual-stack IPv6 socket talking IPv4 to it find each other.
 */
struct sockmap_key {
	unsigned int local_ip[4];
	unsigned int remote_ip[4];
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
