/* Event shared by oomkill's kernel and user halves. */
#ifndef LOUPE_OOMKILL_H
#define LOUPE_OOMKILL_H

#include "event.h"

struct oom_event {
	struct event_hdr hdr;	/* the triggering task (current) */
	__u64 totalpages;	/* the OOM context's limit; 0 = not known */
	/* The victim's memory: in pages, or in KB if in_kb is set. */
	__u64 total_vm;
	__u64 anon_rss;
	__u64 file_rss;
	__u64 shmem_rss;
	__u64 pgtables_kb;
	__u32 victim_pid;
	__u32 victim_uid;
	__s16 oom_score_adj;
	__u8 in_kb;
	__u8 has_totalpages;
	__u32 pad;
	char victim_comm[TASK_COMM_LEN];
};

#endif
