/*
 * gethostlatency, kernel side: uprobes on libc's resolver entry points
 * stash the host name and a timestamp per thread; the uretprobes emit one
 * event with the call's latency. A name the entry could not read (its page
 * not resident yet) is read again at the return, after libc has read it.
 * Each section names its libc function; user space finds the libc (the
 * one a process maps, with -p).
 */
#include "vmlinux.h"
#include "loupe.bpf.h"
#include "ustr.bpf.h"
#include "gethostlatency.h"

struct lookup {
	__u64 start_ns;
	const char *name;
	__u32 func;
	__u32 host_state;
	char host[HOST_LEN];
};

/*
 * An entry holds a whole DNS name: allocated as lookups come rather than
 * 3 MB up front for lookups that are rarely more than a few at a time.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, struct lookup);
} lookups SEC(".maps");

/* Too big for the BPF stack: built in a per-CPU slot. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct lookup);
} scratch SEC(".maps");

static __always_inline int lookup_enter(const char *host, __u32 func)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid(), zero = 0;
	struct lookup *l;

	if (!filter_current_ok())
		return 0;
	l = bpf_map_lookup_elem(&scratch, &zero);
	if (!l)
		return 0;
	l->func = func;
	l->name = host;
	l->host[0] = '\0';
	l->host_state = 0;
	/* getaddrinfo(NULL, service) asks for no host: nothing to read. */
	if (host)
		ustr_read(l->host, sizeof(l->host), host, &l->host_state);
	l->start_ns = bpf_ktime_get_ns();
	bpf_map_update_elem(&lookups, &tid, l, BPF_ANY);
	return 0;
}

static __always_inline int lookup_return(void)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct host_event *e;
	struct lookup *l;

	l = bpf_map_lookup_elem(&lookups, &tid);
	if (!l)
		return 0;
	ustr_retry(l->host, sizeof(l->host), l->name, &l->host_state);
	e = event_reserve(sizeof(*e));
	if (e) {
		event_fill_hdr(&e->hdr);
		e->lat_ns = bpf_ktime_get_ns() - l->start_ns;
		e->func = l->func;
		e->host_state = l->host_state;
		__builtin_memcpy(e->host, l->host, sizeof(e->host));
		event_submit(e);
	}
	bpf_map_delete_elem(&lookups, &tid);
	return 0;
}

SEC("uprobe/libc.so.6:getaddrinfo")
int BPF_KPROBE(getaddrinfo_entry, const char *node)
{
	return lookup_enter(node, HOST_GETADDRINFO);
}

SEC("uretprobe/libc.so.6:getaddrinfo")
int BPF_KRETPROBE(getaddrinfo_return)
{
	return lookup_return();
}

SEC("uprobe/libc.so.6:gethostbyname")
int BPF_KPROBE(gethostbyname_entry, const char *name)
{
	return lookup_enter(name, HOST_GETHOSTBYNAME);
}

SEC("uretprobe/libc.so.6:gethostbyname")
int BPF_KRETPROBE(gethostbyname_return)
{
	return lookup_return();
}

SEC("uprobe/libc.so.6:gethostbyname2")
int BPF_KPROBE(gethostbyname2_entry, const char *name)
{
	return lookup_enter(name, HOST_GETHOSTBYNAME2);
}

SEC("uretprobe/libc.so.6:gethostbyname2")
int BPF_KRETPROBE(gethostbyname2_return)
{
	return lookup_return();
}
