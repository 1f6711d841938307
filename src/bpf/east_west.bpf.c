// SPDX-License-Identifier: GPL-2.0
/*
 * dvr's east-west fast path: one tc program (direct action) on the ingress of VM taps
 * that routes between the subnets of a distributed router as its qrouter- would, past
 * the bridge and the namespace.
 *
 *   dvr_ew_out  a frame from the VM's fixed IP to its gateway (the qr- MAC of its subnet)
 *               for a VM on another subnet of the same router -> TTL - 1, source MAC the
 *               qr- MAC of the destination subnet, destination MAC the VM's, redirected
 *               to the egress of the VM's tap; for a VM on another host the source MAC
 *               is this host's DVR MAC and the frame goes to the egress of its network's
 *               VXLAN device, which encapsulates it with its VNI for the remote tunnel
 *               address of its FDB entry (the frames the bridge would send).
 *
 * Configuration is only the maps of east_west.h. A packet it does not take returns
 * TC_ACT_UNSPEC untouched: the next filter on the tap (dvr_fip_out, at a later priority)
 * gets it, and after that the namespace path, which stays complete. Not taken: ARP and
 * anything not IPv4, fragments, IP options, TTL <= 1 (qrouter-'s time-exceeded must
 * come), packets larger than the destination's MTU (its fragmentation-needed), anything
 * but TCP, UDP, ICMP echo and ICMP errors, and destinations that are not a VM of one of
 * the router's subnets (the router's own addresses, the outside).
 */
#include "packet.h"
#include "east_west.h"

#define EW_HOPS 1 /* qrouter- */

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, DVR_EW_MAX_PORTS);
	__type(key, struct dvr_ew_port_key);
	__type(value, struct dvr_ew_port_val);
} dvr_ew_port SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, DVR_EW_MAX_DSTS);
	__type(key, struct dvr_ew_dst_key);
	__type(value, struct dvr_ew_dst_val);
} dvr_ew_dst SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, DVR_FP_REASONS);
	__type(key, __u32);
	__type(value, __u64);
} dvr_ew_stats SEC(".maps");

static __always_inline void count_ew(__u32 reason)
{
	__u64 *v = bpf_map_lookup_elem(&dvr_ew_stats, &reason);

	if (v)
		*v += 1;
}

SEC("tc")
int dvr_ew_out(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct iphdr *iph = data + ETH_HLEN;
	struct dvr_ew_port_key pk;
	struct dvr_ew_port_val *port;
	struct dvr_ew_dst_key dk;
	struct dvr_ew_dst_val *dst;
	__u8 src_mac[6], dst_mac[6];
	__be16 old_ttl, new_ttl;
	__u32 out;
	int why;

	if ((void *)(iph + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP)) {
		count_ew(DVR_FP_NOT_IPV4);
		return TC_ACT_UNSPEC;
	}
	pk.ifindex = skb->ifindex;
	port = bpf_map_lookup_elem(&dvr_ew_port, &pk);
	if (!port || !mac_eq(eth->h_dest, port->gw_mac) || iph->saddr != port->ip) {
		count_ew(DVR_FP_NO_ENTRY);
		return TC_ACT_UNSPEC;
	}
	dk.router = port->router;
	dk.ip = iph->daddr;
	dst = bpf_map_lookup_elem(&dvr_ew_dst, &dk);
	if (!dst) {
		count_ew(DVR_FP_NO_ENTRY);
		return TC_ACT_UNSPEC;
	}
	why = eligible(skb, iph, data_end, dst->mtu, EW_HOPS);
	if (why == ICMP_ERROR)
		why = 0; /* routed as it is: no address of it is translated */
	if (why) {
		count_ew(why);
		return TC_ACT_UNSPEC;
	}
	/* copies: the map value may change under us, the packet pointers go stale */
	out = dst->out_ifindex;
	__builtin_memcpy(src_mac, dst->src_mac, 6);
	__builtin_memcpy(dst_mac, dst->dst_mac, 6);
	old_ttl = *(__be16 *)&iph->ttl; /* ttl and protocol */
	iph->ttl -= EW_HOPS;
	new_ttl = *(__be16 *)&iph->ttl;
	mac_set(eth->h_dest, dst_mac);
	mac_set(eth->h_source, src_mac);
	if (bpf_l3_csum_replace(skb, IP_CSUM_OFF, old_ttl, new_ttl, 2)) {
		count_ew(DVR_FP_ERROR);
		return TC_ACT_SHOT;
	}
	count_ew(DVR_FP_FAST);
	return bpf_redirect(out, 0);
}

char _license[] SEC("license") = "GPL";
