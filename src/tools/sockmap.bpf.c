/*
 * loupe sockmap, kernel side: a sockops program (attached to a cgroup)
 * adds each established TCP socket (IPv4 or IPv6) of that cgroup to a
 * sockhash by its 4-tuple; an sk_msg program on the sockhash hands each
 * message a socket sends straight to the receive queue of its peer, when
 * the peer is in the sockhash too (both ends on this host, in the
 * cgroup), skipping the TCP/IP stack and loopback. Otherwise the message
 * goes the normal way.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "sockmap.h"

#define SOCKMAP_AF_INET		2
#define SOCKMAP_AF_INET6	10

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, 65536);
	__type(key, struct sockmap_key);
	__type(value, __u64);
} socks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SOCKMAP_NCOUNTERS);
	__type(key, __u32);
	__type(value, struct sockmap_counter);
} counters SEC(".maps");

/* An IPv4 address (network order) as ::ffff:a.b.c.d. */
static __always_inline void map_v4(unsigned int *ip, __u32 v4)
{
	ip[0] = 0;
	ip[1] = 0;
	ip[2] = bpf_htonl(0xffff);
	ip[3] = v4;
}

SEC("sockops")
int sockmap_sockops(struct bpf_sock_ops *skops)
{
	struct sockmap_key key = {};

	if (skops->op != BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB &&
	    skops->op != BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB)
		return 1;
	if (skops->family == SOCKMAP_AF_INET) {
		map_v4(key.local_ip, skops->local_ip4);
		map_v4(key.remote_ip, skops->remote_ip4);
	} else if (skops->family == SOCKMAP_AF_INET6) {
		/* a v4-mapped connection reads as ::ffff:a.b.c.d here too */
		key.local_ip[0] = skops->local_ip6[0];
		key.local_ip[1] = skops->local_ip6[1];
		key.local_ip[2] = skops->local_ip6[2];
		key.local_ip[3] = skops->local_ip6[3];
		key.remote_ip[0] = skops->remote_ip6[0];
		key.remote_ip[1] = skops->remote_ip6[1];
		key.remote_ip[2] = skops->remote_ip6[2];
		key.remote_ip[3] = skops->remote_ip6[3];
	} else {
		return 1;
	}
	key.local_port = skops->local_port;
	key.remote_port = bpf_ntohl(skops->remote_port);
	bpf_sock_hash_update(skops, &socks, &key, BPF_NOEXIST);
	return 1;
}

SEC("sk_msg")
int sockmap_msg(struct sk_msg_md *msg)
{
	struct sockmap_key peer = {};
	struct sockmap_counter *c;
	__u32 idx = SOCKMAP_PASSED;

	/* The peer's key is ours turned around. */
	if (msg->family == SOCKMAP_AF_INET) {
		map_v4(peer.local_ip, msg->remote_ip4);
		map_v4(peer.remote_ip, msg->local_ip4);
	} else {
		peer.local_ip[0] = msg->remote_ip6[0];
		peer.local_ip[1] = msg->remote_ip6[1];
		peer.local_ip[2] = msg->remote_ip6[2];
		peer.local_ip[3] = msg->remote_ip6[3];
		peer.remote_ip[0] = msg->local_ip6[0];
		peer.remote_ip[1] = msg->local_ip6[1];
		peer.remote_ip[2] = msg->local_ip6[2];
		peer.remote_ip[3] = msg->local_ip6[3];
	}
	peer.local_port = bpf_ntohl(msg->remote_port);
	peer.remote_port = msg->local_port;
	if (bpf_msg_redirect_hash(msg, &socks, &peer, BPF_F_INGRESS) ==
	    SK_PASS)
		idx = SOCKMAP_REDIRECTED;
	c = bpf_map_lookup_elem(&counters, &idx);
	if (c) {
		c->msgs++;
		c->bytes += msg->size;
	}
	/* Not redirected (no local peer): the normal way, never dropped. */
	return SK_PASS;
}
