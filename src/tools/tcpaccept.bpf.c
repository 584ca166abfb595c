/*
 * tcpaccept, kernel side: passive TCP opens, reported as the accepting
 * task gets the new socket, from the accept hooks of netsock.bpf.h
 * (inet_csk_accept's return, else the accept syscalls' fd walked to its
 * struct sock).
 */
#include "vmlinux.h"
#include "loupe.bpf.h"
#include "netsock.bpf.h"
#include "tcpaccept.h"

NETSOCK_FILTER_DEFINE;

static __always_inline int accept_emit(const struct sock *sk)
{
	struct tcpaccept_event *e;
	struct netsock_tuple a;

	if (!sk || !netsock_is_tcp(sk) || !filter_current_ok())
		return 0;
	netsock_tuple_read(sk, &a);
	if (!netsock_ports_ok(a.sport, a.dport))
		return 0;
	e = event_reserve(sizeof(*e));
	if (!e)
		return 0;
	event_fill_hdr(&e->hdr);
	e->a = a;
	event_submit(e);
	return 0;
}

NETSOCK_ACCEPT_PROGRAMS(accept_emit)
NETSOCK_ACCEPT_RAW_PROGRAMS(accept_emit)
