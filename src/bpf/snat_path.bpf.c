// SPDX-License-Identifier: GPL-2.0
/*
 * dvr's SNAT fast path, compute-host side: one tc program (direct action) on the ingress
 * of VM taps that sends what qrouter- would send to the router's sg- port, past the
 * bridge and the namespace.
 *
 *   dvr_snat_out  a frame from the VM's fixed IP to its gateway (the qr- MAC of its
 *                 subnet) for a destination qrouter- does not route itself -> TTL - 1,
 *                 source MAC this host's DVR MAC, destination MAC the sg- port's,
 *                 redirected to the egress of the network's VXLAN device, which
 *                 encapsulates it with its VNI for the dvr_snat host's tunnel address
 *                 (its FDB entry for the sg- MAC): the frames the bridge would send.
 *
 * SNAT itself stays in snat- on the dvr_snat host: its conntrack state is shared by every
 * compute host's flows of the router and its port allocation is the kernel's, so a
 * stateless rewrite here could not do it.
 *
 * Configuration is only the maps of snat_path.h. A packet it does not take returns
 * TC_ACT_UNSPEC untouched and goes the namespace path, which stays complete: ARP and
 * anything not IPv4, fragments, IP options, TTL <= 1 (qrouter-'s time-exceeded must
 * come), packets larger than the subnet's MTU (its fragmentation-needed), anything but
 * TCP, UDP, ICMP echo and ICMP errors, and destinations qrouter- keeps (dvr_snat_local).
 * It runs after dvr_ew_out (which takes the router's VMs first) on the same tap.
 */
#include "packet.h"
#include "snat_path.h"

#define SNAT_HOPS 1 /* qrouter- on this host; snat- counts its own */

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, DVR_SNAT_MAX_PORTS);
	__type(key, struct dvr_snat_port_key);
	__type(value, struct dvr_snat_port_val);
} dvr_snat_port SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, DVR_SNAT_MAX_LOCAL);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct dvr_fip_local_key);
	__type(value, __u8);
} dvr_snat_local SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, DVR_FP_REASONS);
	__type(key, __u32);
	__type(value, __u64);
} dvr_snat_stats SEC(".maps");

static __always_inline void count_snat(__u32 reason)
{
	__u64 *v = bpf_map_lookup_elem(&dvr_snat_stats, &reason);

	if (v)
		*v += 1;
}

SEC("tc")
int dvr_snat_out(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct iphdr *iph = data + ETH_HLEN;
	struct dvr_snat_port_key pk;
	struct dvr_snat_port_val *port;
	struct dvr_fip_local_key local;
	__u8 src_mac[6], dst_mac[6];
	__be16 old_ttl, new_ttl;
	__u32 out;
	int why;

	if ((void *)(iph + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP)) {
		count_snat(DVR_FP_NOT_IPV4);
		return TC_ACT_UNSPEC;
	}
	pk.ifindex = skb->ifindex;
	port = bpf_map_lookup_elem(&dvr_snat_port, &pk);
	if (!port || !mac_eq(eth->h_dest, port->gw_mac) || iph->saddr != port->ip) {
		count_snat(DVR_FP_NO_ENTRY);
		return TC_ACT_UNSPEC;
	}
	local.prefixlen = 64;
	local.ifindex = skb->ifindex;
	local.addr = iph->daddr;
	if (bpf_map_lookup_elem(&dvr_snat_local, &local)) {
		count_snat(DVR_FP_LOCAL_DST);
		return TC_ACT_UNSPEC;
	}
	why = eligible(skb, iph, data_end, port->mtu, SNAT_HOPS);
	if (why == ICMP_ERROR)
		why = 0; /* routed as it is: snat- translates its quote */
	if (why) {
		count_snat(why);
		return TC_ACT_UNSPEC;
	}
	/* copies: the map value may change under us, the packet pointers go stale */
	out = port->out_ifindex;
	__builtin_memcpy(src_mac, port->src_mac, 6);
	__builtin_memcpy(dst_mac, port->sg_mac, 6);
	old_ttl = *(__be16 *)&iph->ttl; /* ttl and protocol */
	iph->ttl -= SNAT_HOPS;
	new_ttl = *(__be16 *)&iph->ttl;
	mac_set(eth->h_dest, dst_mac);
	mac_set(eth->h_source, src_mac);
	if (bpf_l3_csum_replace(skb, IP_CSUM_OFF, old_ttl, new_ttl, 2)) {
		count_snat(DVR_FP_ERROR);
		return TC_ACT_SHOT;
	}
	count_snat(DVR_FP_FAST);
	return bpf_redirect(out, 0);
}

char _license[] SEC("license") = "GPL";
