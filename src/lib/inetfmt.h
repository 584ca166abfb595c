/*
 * Network formatting and parsing for the user halves of the network
 * tools: addresses, address:port pairs, TCP state names and protocol
 * names, the way BCC prints them.
 */
#ifndef LOUPE_INETFMT_H
#define LOUPE_INETFMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define INETFMT_ADDR_LEN	46	/* INET6_ADDRSTRLEN */
#define INETFMT_ADDR_PORT_LEN	(INETFMT_ADDR_LEN + 8)

/* An address given on the command line (-a 10.0.0.1, -A ::1). */
struct inetfmt_addr {
	int family;		/* AF_INET or AF_INET6 */
	uint8_t addr[16];
};

const char *inetfmt_addr(int family, const void *addr, char *buf,
			 size_t len);
const char *inetfmt_addr_port(int family, const void *addr, unsigned port,
			      char *buf, size_t len);
const char *inetfmt_tcp_state(int state);
const char *inetfmt_proto(int protocol);
int inetfmt_parse_addr(const char *s, struct inetfmt_addr *a);
int inetfmt_parse_port(const char *s, uint16_t *port);

#endif
