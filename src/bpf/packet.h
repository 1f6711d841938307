/* What dvr's tc programs share (fip_path.bpf.c, east_west.bpf.c): the headers they
 * parse, the checks that send a packet to the namespace path (eligible()), MAC and
 * checksum helpers. BPF C only; static inline, so each object has its own copy. */
#ifndef DVR_BPF_PACKET_H
#define DVR_BPF_PACKET_H

// The kernel's types first: libbpf's helpers need them.
// clang-format off
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/in.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <stddef.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
// clang-format on

#include "fip_path.h"

#define IP_CSUM_OFF (ETH_HLEN + offsetof(struct iphdr, check))
#define L4_OFF (ETH_HLEN + sizeof(struct iphdr))
#define TCP_CSUM_OFF (L4_OFF + offsetof(struct tcphdr, check))
#define UDP_CSUM_OFF (L4_OFF + offsetof(struct udphdr, check))
#define IP_MF 0x2000
#define IP_OFFMASK 0x1fff
#define ICMP_ECHOREPLY 0 /* <linux/icmp.h> pulls in libc headers */
#define ICMP_ECHO 8
#define ICMP_DEST_UNREACH 3 /* fragmentation needed among them: PMTU discovery */
#define ICMP_TIME_EXCEEDED 11
#define ICMP_ERROR 0x100 /* eligible(): an error to translate, not a reason */

static __always_inline int mac_eq(const __u8* a, const __u8* b) {
  return *(const __u32*)a == *(const __u32*)b && *(const __u16*)(a + 4) == *(const __u16*)(b + 4);
}

static __always_inline void mac_set(__u8* dst, const __u8* src) {
  __builtin_memcpy(dst, src, 6);
}

/*
 * What every program checks before rewriting: 0 when the packet may take the fast path,
 * ICMP_ERROR for an ICMP error (its quote may need translating), else the reason it falls
 * back (fip_path.h's dvr_fp_reason). `mtu` is the next hop's, `hops` how many routers the
 * program stands for (a TTL that would expire in one of them goes the namespace path).
 */
static __always_inline int eligible(struct __sk_buff* skb, struct iphdr* iph, void* data_end,
                                    __u16 mtu, __u8 hops) {
  int icmp_error = 0;
  __u32 len;

  if (iph->ihl != 5)
    return DVR_FP_IP_OPTIONS;
  if (iph->frag_off & bpf_htons(IP_MF | IP_OFFMASK))
    return DVR_FP_FRAGMENT;
  if (iph->ttl <= hops)
    return DVR_FP_TTL;
  if (iph->protocol == IPPROTO_ICMP) {
    __u8* type = (void*)(iph + 1);

    if ((void*)(type + 1) > data_end)
      return DVR_FP_PROTOCOL;
    /* errors carry the header of the packet they answer: translated too */
    if (*type == ICMP_DEST_UNREACH || *type == ICMP_TIME_EXCEEDED)
      icmp_error = ICMP_ERROR;
    else if (*type != ICMP_ECHO && *type != ICMP_ECHOREPLY)
      return DVR_FP_PROTOCOL;
  } else if (iph->protocol != IPPROTO_TCP && iph->protocol != IPPROTO_UDP) {
    return DVR_FP_PROTOCOL;
  }
  /* A GSO packet leaves as segments: each must fit, not the whole. */
  if (skb->gso_size) {
    len = sizeof(struct iphdr) + skb->gso_size;
    if (iph->protocol == IPPROTO_TCP) {
      struct tcphdr* tcp = (void*)(iph + 1);

      if ((void*)(tcp + 1) > data_end)
        return DVR_FP_MTU;
      len += tcp->doff * 4;
    } else {
      len += sizeof(struct udphdr);
    }
  } else {
    len = skb->len - ETH_HLEN;
  }
  if (len > mtu)
    return DVR_FP_MTU;
  return icmp_error;
}

/* One's complement checksum updates (RFC 1624), on words as they lie in the packet. */
static __always_inline __u16 csum_fold32(__u32 s) {
  s = (s & 0xffff) + (s >> 16);
  s = (s & 0xffff) + (s >> 16);
  return (__u16)s;
}

static __always_inline __u16 csum_replace2(__u16 check, __u16 from, __u16 to) {
  return (__u16)~csum_fold32((__u16)~check + (__u16)~from + to);
}

static __always_inline __u16 csum_replace4(__u16 check, __u32 from, __u32 to) {
  check = csum_replace2(check, (__u16)from, (__u16)to);
  return csum_replace2(check, (__u16)(from >> 16), (__u16)(to >> 16));
}

#endif
