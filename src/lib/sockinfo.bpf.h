/*
 * Kernel-side socket readers for the network tools: the address/port tuple
 * of a struct sock (CO-RE), and the socket behind a file descriptor of the
 * current task, for syscall tracepoints that only see an fd.
 * Include after vmlinux.h and loupe.bpf.h.
 */
#ifndef LOUPE_SOCKINFO_BPF_H
#define LOUPE_SOCKINFO_BPF_H

#include <bpf/bpf_endian.h>
#include "sockinfo.h"

#define SOCKINFO_S_IFMT		00170000
#define SOCKINFO_S_IFSOCK	0140000

/* Fills t from sk; returns false for a socket that is not IPv4/IPv6. */
static __always_inline bool sockinfo_tuple(const struct sock *sk,
					   struct sock_tuple *t)
{
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);

	__builtin_memset(t, 0, sizeof(*t));
	t->family = family;
	t->sport = BPF_CORE_READ(sk, __sk_common.skc_num);
	t->dport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	if (family == SOCKINFO_AF_INET) {
		BPF_CORE_READ_INTO((__u32 *)t->saddr, sk,
				   __sk_common.skc_rcv_saddr);
		BPF_CORE_READ_INTO((__u32 *)t->daddr, sk,
				   __sk_common.skc_daddr);
		return true;
	}
	if (family == SOCKINFO_AF_INET6) {
		bpf_core_read(t->saddr, sizeof(t->saddr),
			      &sk->__sk_common.skc_v6_rcv_saddr);
		bpf_core_read(t->daddr, sizeof(t->daddr),
			      &sk->__sk_common.skc_v6_daddr);
		return true;
	}
	return false;
}

/*
 * The struct socket behind fd in the current task, or NULL if fd is not
 * open or not a socket. Syscall tracepoints see only the fd; the file's
 * inode type tells a socket apart without needing socket_file_ops.
 */
static __always_inline struct socket *sockinfo_fd_socket(int fd)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct fdtable *fdt;
	struct file **fds;
	struct file *file = NULL;
	unsigned int max;
	umode_t mode;

	if (fd < 0)
		return NULL;
	fdt = BPF_CORE_READ(task, files, fdt);
	if (!fdt)
		return NULL;
	max = BPF_CORE_READ(fdt, max_fds);
	if ((unsigned int)fd >= max)
		return NULL;
	fds = BPF_CORE_READ(fdt, fd);
	if (bpf_probe_read_kernel(&file, sizeof(file), &fds[fd]) || !file)
		return NULL;
	mode = BPF_CORE_READ(file, f_inode, i_mode);
	if ((mode & SOCKINFO_S_IFMT) != SOCKINFO_S_IFSOCK)
		return NULL;
	return BPF_CORE_READ(file, private_data);
}

#endif
