// SPDX-License-Identifier: GPL-2.0
/*
 * dvr's floating-IP fast path: two tc programs (direct action) that carry a floating IP's
 * traffic past the qrouter- and fip- namespaces, doing what those would do to it.
 *
 *   dvr_fip_out  tc ingress of a VM's tap: a frame from the fixed IP to the qr- MAC, for
 *                an address outside the router -> SNAT fixed -> floating IP, TTL - 2
 *                (qrouter- and fip- are two routing hops), fg- MAC -> next-hop MAC,
 *                redirected to the egress of the external device.
 *   dvr_fip_in   tc ingress of the external device: a frame to the fg- MAC for a floating
 *                IP -> DNAT floating -> fixed IP, TTL - 2, qr- MAC -> VM MAC, redirected
 *                to the egress of the VM's tap.
 *
 * Configuration is only the maps of fip_path.h, filled by the agent from its plan; no
 * address is compiled in. Everything the programs do not take returns TC_ACT_OK
 * untouched and goes the namespace path, which stays complete: ARP, fragments, IP
 * options, a TTL that would expire in a router, anything but IPv4 TCP/UDP/ICMP echo and
 * ICMP errors (destination unreachable, time exceeded: their quoted header is translated
 * as conntrack would, so traceroute and PMTU discovery keep working), packets larger than
 * the next hop's MTU, destinations the router keeps.
 */
#include "packet.h"

#define ROUTER_HOPS 2 /* qrouter- and fip- */

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, DVR_FIP_MAX_ENTRIES);
	__type(key, struct dvr_fip_out_key);
	__type(value, struct dvr_fip_out_val);
} dvr_fip_out_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, DVR_FIP_MAX_ENTRIES);
	__type(key, struct dvr_fip_in_key);
	__type(value, struct dvr_fip_in_val);
} dvr_fip_in_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, DVR_FIP_MAX_LOCAL);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct dvr_fip_local_key);
	__type(value, __u8);
} dvr_fip_local SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, DVR_FP_DIRS * DVR_FP_REASONS);
	__type(key, __u32);
	__type(value, __u64);
} dvr_fp_stats SEC(".maps");

static __always_inline void count(__u32 dir, __u32 reason)
{
	__u32 idx = dir * DVR_FP_REASONS + reason;
	__u64 *v = bpf_map_lookup_elem(&dvr_fp_stats, &idx);

	if (v)
		*v += 1;
}

/*
 * An ICMP error about a packet of this floating IP: the header it quotes carries the
 * address the error's own header is rewritten from (inbound: the quoted source is the
 * floating IP; outbound: the quoted destination is the fixed IP). Rewrites the quoted
 * address and the quoted IP and TCP/UDP checksums, and the ICMP checksum over them, as
 * the routers' conntrack NAT does for related packets. 0 when done, else why it falls
 * back (a quote that is not ours or not whole).
 */
static __always_inline int translate_quote(struct __sk_buff *skb, int quoted_src, __be32 from,
					   __be32 to)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct iphdr *iph = data + ETH_HLEN;
	__u16 *icmp_check = (void *)(iph + 1) + 2;
	struct iphdr *in = (void *)(iph + 1) + 8;
	__u16 old_ip, new_ip, old_l4 = 0, new_l4 = 0;
	__u16 *l4_check = 0;
	__be32 *addr;

	if ((void *)(in + 1) > data_end || in->ihl != 5)
		return DVR_FP_PROTOCOL;
	addr = quoted_src ? &in->saddr : &in->daddr;
	if (*addr != from)
		return DVR_FP_NO_ENTRY;
	if (in->protocol == IPPROTO_UDP) {
		struct udphdr *udp = (void *)(in + 1);

		if ((void *)(udp + 1) <= data_end && udp->check)
			l4_check = &udp->check;
	} else if (in->protocol == IPPROTO_TCP) {
		struct tcphdr *tcp = (void *)(in + 1);

		if ((void *)(tcp + 1) <= data_end)
			l4_check = &tcp->check;
	}
	old_ip = in->check;
	new_ip = csum_replace4(old_ip, from, to);
	if (l4_check) {
		old_l4 = *l4_check;
		new_l4 = csum_replace4(old_l4, from, to);
		*l4_check = new_l4;
	}
	*addr = to;
	in->check = new_ip;
	*icmp_check = csum_replace4(*icmp_check, from, to);
	*icmp_check = csum_replace2(*icmp_check, old_ip, new_ip);
	if (l4_check)
		*icmp_check = csum_replace2(*icmp_check, old_l4, new_l4);
	return 0;
}

/*
 * Rewrites one address (saddr when snat, else daddr), the TTL and both MACs, and fixes
 * the L3 and L4 checksums. 0 when done, -1 when a helper failed.
 */
static __always_inline int rewrite(struct __sk_buff *skb, int snat, __be32 from, __be32 to,
				   const __u8 *src_mac, const __u8 *dst_mac)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct iphdr *iph = data + ETH_HLEN;
	__be16 old_ttl, new_ttl;
	__u8 proto;

	if ((void *)(iph + 1) > data_end)
		return -1;
	proto = iph->protocol;
	/* direct writes first, while the packet pointers are valid */
	old_ttl = *(__be16 *)&iph->ttl; /* ttl and protocol */
	iph->ttl -= ROUTER_HOPS;
	new_ttl = *(__be16 *)&iph->ttl;
	if (snat)
		iph->saddr = to;
	else
		iph->daddr = to;
	mac_set(eth->h_dest, dst_mac);
	mac_set(eth->h_source, src_mac);
	/* then the checksum helpers (they invalidate the packet pointers) */
	if (bpf_l3_csum_replace(skb, IP_CSUM_OFF, old_ttl, new_ttl, 2))
		return -1;
	if (bpf_l3_csum_replace(skb, IP_CSUM_OFF, from, to, 4))
		return -1;
	if (proto == IPPROTO_TCP) {
		if (bpf_l4_csum_replace(skb, TCP_CSUM_OFF, from, to, BPF_F_PSEUDO_HDR | 4))
			return -1;
	} else if (proto == IPPROTO_UDP) {
		if (bpf_l4_csum_replace(skb, UDP_CSUM_OFF, from, to,
					BPF_F_PSEUDO_HDR | BPF_F_MARK_MANGLED_0 | 4))
			return -1;
	}
	/* ICMP echo: no pseudo-header */
	return 0;
}

/* VM -> outside: SNAT fixed -> floating IP, straight out of the external device. */
SEC("tc")
int dvr_fip_out(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct iphdr *iph = data + ETH_HLEN;
	struct dvr_fip_out_key key;
	struct dvr_fip_out_val *v;
	struct dvr_fip_local_key local;
	struct dvr_fip_in_key hairpin;
	__u8 src_mac[6], dst_mac[6];
	__be32 fip;
	__u32 out;
	int why;

	if ((void *)(iph + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP)) {
		count(DVR_FP_OUT, DVR_FP_NOT_IPV4);
		return TC_ACT_OK;
	}
	key.ifindex = skb->ifindex;
	key.fixed_ip = iph->saddr;
	v = bpf_map_lookup_elem(&dvr_fip_out_map, &key);
	if (!v || !mac_eq(eth->h_dest, v->qr_mac)) {
		count(DVR_FP_OUT, DVR_FP_NO_ENTRY);
		return TC_ACT_OK;
	}
	local.prefixlen = 64;
	local.ifindex = skb->ifindex;
	local.addr = iph->daddr;
	hairpin.ifindex = v->out_ifindex;
	hairpin.floating_ip = iph->daddr;
	if (bpf_map_lookup_elem(&dvr_fip_local, &local) ||
	    bpf_map_lookup_elem(&dvr_fip_in_map, &hairpin)) {
		count(DVR_FP_OUT, DVR_FP_LOCAL_DST);
		return TC_ACT_OK;
	}
	why = eligible(skb, iph, data_end, v->mtu, ROUTER_HOPS);
	if (why == ICMP_ERROR)
		why = translate_quote(skb, 0, key.fixed_ip, v->floating_ip);
	if (why) {
		count(DVR_FP_OUT, why);
		return TC_ACT_OK;
	}
	/* copies: the map value may change under us, the packet pointers go stale */
	fip = v->floating_ip;
	out = v->out_ifindex;
	__builtin_memcpy(src_mac, v->fg_mac, 6);
	__builtin_memcpy(dst_mac, v->next_hop_mac, 6);
	if (rewrite(skb, 1, key.fixed_ip, fip, src_mac, dst_mac)) {
		count(DVR_FP_OUT, DVR_FP_ERROR);
		return TC_ACT_SHOT;
	}
	count(DVR_FP_OUT, DVR_FP_FAST);
	return bpf_redirect(out, 0);
}

/* outside -> VM: DNAT floating -> fixed IP, straight to the VM's tap. */
SEC("tc")
int dvr_fip_in(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct iphdr *iph = data + ETH_HLEN;
	struct dvr_fip_in_key key;
	struct dvr_fip_in_val *v;
	__u8 src_mac[6], dst_mac[6];
	__be32 fixed;
	__u32 out;
	int why;

	if ((void *)(iph + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP)) {
		count(DVR_FP_IN, DVR_FP_NOT_IPV4);
		return TC_ACT_OK;
	}
	key.ifindex = skb->ifindex;
	key.floating_ip = iph->daddr;
	v = bpf_map_lookup_elem(&dvr_fip_in_map, &key);
	if (!v || !mac_eq(eth->h_dest, v->fg_mac)) {
		count(DVR_FP_IN, DVR_FP_NO_ENTRY);
		return TC_ACT_OK;
	}
	why = eligible(skb, iph, data_end, v->mtu, ROUTER_HOPS);
	if (why == ICMP_ERROR)
		why = translate_quote(skb, 1, key.floating_ip, v->fixed_ip);
	if (why) {
		count(DVR_FP_IN, why);
		return TC_ACT_OK;
	}
	fixed = v->fixed_ip;
	out = v->out_ifindex;
	__builtin_memcpy(src_mac, v->qr_mac, 6);
	__builtin_memcpy(dst_mac, v->vm_mac, 6);
	if (rewrite(skb, 0, key.floating_ip, fixed, src_mac, dst_mac)) {
		count(DVR_FP_IN, DVR_FP_ERROR);
		return TC_ACT_SHOT;
	}
	count(DVR_FP_IN, DVR_FP_FAST);
	return bpf_redirect(out, 0);
}

char _license[] SEC("license") = "GPL";
