/*
 * bashreadline, kernel side: a uretprobe on readline() copies the line
 * the user just entered. Debian's bash carries its own readline; when the
 * probe sits in a shared libreadline instead, other programs use it too,
 * so only tasks named "bash" are kept (as BCC does).
 */
#include "vmlinux.h"
#include "loupe.bpf.h"
#include "bashreadline.h"

const volatile bool only_bash = false;

static __always_inline bool is_bash(void)
{
	char comm[TASK_COMM_LEN];

	bpf_get_current_comm(comm, sizeof(comm));
	return comm[0] == 'b' && comm[1] == 'a' && comm[2] == 's' &&
	       comm[3] == 'h' && comm[4] == '\0';
}

SEC("uretprobe/bash:readline")
int BPF_KRETPROBE(readline_return, const char *line)
{
	struct readline_event *e;

	if (!line || !filter_current_ok())
		return 0;
	if (only_bash && !is_bash())
		return 0;
	e = event_reserve(sizeof(*e));
	if (!e)
		return 0;
	event_fill_hdr(&e->hdr);
	if (bpf_probe_read_user_str(e->line, sizeof(e->line), line) < 0)
		e->line[0] = '\0';
	event_submit(e);
	return 0;
}
