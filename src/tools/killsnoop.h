/* Event shared by killsnoop's kernel and user halves. */
#ifndef LOUPE_KILLSNOOP_H
#define LOUPE_KILLSNOOP_H

#include "event.h"

enum kill_source {
	KILL_SRC_KILL,
	KILL_SRC_TKILL,
	KILL_SRC_TGKILL,
	KILL_SRC_GENERATE,	/* signal:signal_generate, any origin */
};

struct kill_event {
	struct event_hdr hdr;	/* the sender */
	__s64 ret;		/* syscall: 0 or -errno; generate: result */
	__s32 sig;
	__s32 tpid;		/* kill: pid argument; tkill/tgkill: tid */
	__s32 tgid;		/* tgkill: target thread group, else 0 */
	__s32 code;		/* generate: si_code */
	__s32 group;		/* generate: sent to the whole group */
	__u32 source;		/* enum kill_source */
	char tcomm[TASK_COMM_LEN];	/* generate: target's comm */
};

#endif
