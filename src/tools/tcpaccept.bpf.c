/*
 * tcpaccept, kernel side: passive TCP opens, reported as the accepting
 * task gets the new socket. Cheapest first: fexit or kretprobe on
 * inet_csk_accept (the new struct sock is the return value), else the
 * accept/accept4 syscall exit tracepoints, where the returned fd is walked
 * to its struct sock (task->files->fdt->fd[fd]->private_data->sk).
 * The syscall path misses accepts made by io_uring and in-kernel users.
 */
#include "vmlinux.h"
#include "loupe.bpf.h"
#include "tcpsock.bpf.h"
#include "tcpaccept.h"

static __always_inline int accept_emit(const struct sock *sk)
{
	struct tcpaccept_event *e;
	struct tcpsock_addr a;

	if (!sk || !tcpsock_is_tcp(sk) || !filter_current_ok())
		return 0;
	tcpsock_read_addr(sk, &a);
	if (!tcpsock_ports_ok(a.sport, a.dport))
		return 0;
	e = event_reserve(sizeof(*e));
	if (!e)
		return 0;
	event_fill_hdr(&e->hdr);
	e->a = a;
	event_submit(e);
	return 0;
}

/* The return value's position depends on the kernel's signature. */
SEC("fexit/inet_csk_accept")
int accept_fexit(__u64 *ctx)
{
	__u64 ret = 0;

	bpf_get_func_ret(ctx, &ret);
	return accept_emit((const struct sock *)ret);
}

SEC("kretprobe/inet_csk_accept")
int BPF_KRETPROBE(accept_kretprobe, struct sock *sk)
{
	return accept_emit(sk);
}

SEC("tracepoint/syscalls/sys_exit_accept")
int accept_exit_tp(struct trace_event_raw_sys_exit *ctx)
{
	if (ctx->ret < 0)
		return 0;
	return accept_emit(tcpsock_sk_of_fd(ctx->ret));
}

SEC("tracepoint/syscalls/sys_exit_accept4")
int accept4_exit_tp(struct trace_event_raw_sys_exit *ctx)
{
	if (ctx->ret < 0)
		return 0;
	return accept_emit(tcpsock_sk_of_fd(ctx->ret));
}
