/* Map layout shared by tcptop's kernel and user halves. */
#ifndef LOUPE_TCPTOP_H
#define LOUPE_TCPTOP_H

#include "event.h"
#include "netsock.h"

/* One row: a process's traffic on one connection. */
struct tcptop_key {
	__u8 saddr[16];
	__u8 daddr[16];
	__u32 pid;
	__u16 lport;		/* host byte order */
	__u16 dport;
	__u16 family;
	__u16 pad[3];
};

struct tcptop_val {
	__u64 rx_bytes;
	__u64 tx_bytes;
	__u64 cgroup_id;	/* the process's, for its container */
	char comm[TASK_COMM_LEN];
};

#endif
