/* The floating-IP fast path's maps, shared by the eBPF programs (fip_path.bpf.c) and the
 * agent that fills them (src/kernel/bpf_fastpath.cc). Plain C, fixed-size fields, network
 * byte order for addresses: the layout is the contract between the two.
 *
 * Outbound (tc ingress of a VM's tap): key (tap ifindex, fixed IP) -> the SNAT and the
 * frame the fip- namespace would send on its fg- port. Inbound (tc ingress of the
 * external device): key (external device ifindex, floating IP) -> the DNAT and the frame
 * the qrouter- namespace would send on its qr- port. Destinations the namespace path must
 * keep (the router's subnets, the external subnet, link-local) are in an LPM trie per
 * VM tap. Counters: per CPU, [direction][reason]. */
#ifndef DVR_BPF_FIP_PATH_H
#define DVR_BPF_FIP_PATH_H

#ifdef __cplusplus
#include <cstdint>
typedef uint8_t dvr_u8;
typedef uint16_t dvr_u16;
typedef uint32_t dvr_u32;
typedef uint64_t dvr_u64;
#else
typedef __u8 dvr_u8;
typedef __u16 dvr_u16;
typedef __u32 dvr_u32;
typedef __u64 dvr_u64;
#endif

#define DVR_FIP_MAX_ENTRIES 65536
#define DVR_FIP_MAX_LOCAL 262144

struct dvr_fip_out_key {
  dvr_u32 ifindex;  /* the VM's tap, in the host namespace */
  dvr_u32 fixed_ip; /* network order */
};

struct dvr_fip_out_val {
  dvr_u32 floating_ip;    /* network order */
  dvr_u32 out_ifindex;    /* the external device (uplink) */
  dvr_u8 qr_mac[6];       /* what the VM addresses: its gateway, qr- */
  dvr_u8 fg_mac[6];       /* source of the frame leaving: fg- */
  dvr_u8 next_hop_mac[6]; /* destination: the external gateway, as fip- resolved it */
  dvr_u16 mtu;            /* of fg-: larger packets need the router's ICMP */
};

struct dvr_fip_in_key {
  dvr_u32 ifindex;     /* the external device */
  dvr_u32 floating_ip; /* network order */
};

struct dvr_fip_in_val {
  dvr_u32 fixed_ip;    /* network order */
  dvr_u32 out_ifindex; /* the VM's tap */
  dvr_u8 fg_mac[6];    /* what the outside addresses (fg- answers ARP for the FIP) */
  dvr_u8 qr_mac[6];    /* source of the frame the VM gets */
  dvr_u8 vm_mac[6];    /* destination: the VM */
  dvr_u16 mtu;         /* of qr- */
};

/* LPM trie: prefixlen counts the 32 bits of ifindex plus the prefix's own. */
struct dvr_fip_local_key {
  dvr_u32 prefixlen;
  dvr_u32 ifindex; /* the VM's tap; always matched whole (the first 32 bits) */
  dvr_u32 addr;    /* network order */
};

enum dvr_fp_dir { DVR_FP_OUT = 0, DVR_FP_IN = 1, DVR_FP_DIRS = 2 };

enum dvr_fp_reason {
  DVR_FP_FAST = 0, /* rewritten and redirected */
  DVR_FP_ERROR,    /* a helper failed: dropped */
  DVR_FP_NOT_IPV4, /* ARP, IPv6, anything else */
  DVR_FP_NO_ENTRY, /* no floating IP of this port / to this address */
  DVR_FP_FRAGMENT,
  DVR_FP_IP_OPTIONS,
  DVR_FP_TTL,       /* would expire in a router: its ICMP time-exceeded must come */
  DVR_FP_PROTOCOL,  /* not TCP, UDP or ICMP echo */
  DVR_FP_MTU,       /* larger than the next hop's MTU: the router's fragmentation-needed */
  DVR_FP_LOCAL_DST, /* east-west, the external subnet, a floating IP of this host */
  DVR_FP_REASONS = 16
};

#endif
