/*
 * A socket's addresses and ports as the kernel halves of the network tools
 * capture them, shared with the user halves that print them.
 */
#ifndef LOUPE_SOCKINFO_H
#define LOUPE_SOCKINFO_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define SOCKINFO_AF_INET	2
#define SOCKINFO_AF_INET6	10

/* IPv4 addresses use the first 4 bytes of saddr/daddr. */
struct sock_tuple {
	__u8 saddr[16];
	__u8 daddr[16];
	__u16 sport;		/* host byte order */
	__u16 dport;		/* host byte order */
	__u16 family;		/* AF_INET or AF_INET6 */
	__u16 pad;
};

#endif
