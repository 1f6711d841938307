/* The SNAT fast path's maps (compute-host side), shared by the eBPF program
 * (snat_path.bpf.c) and the agent that fills them (src/kernel/bpf_fastpath.cc). Plain C,
 * fixed-size fields, network byte order for addresses: the layout is the contract.
 *
 * A VM without a floating IP sending outside its router: on its compute host qrouter-
 * routes the packet (TTL - 1) to the router's sg- port on its subnet, which is on the
 * dvr_snat host; the bridge rewrites the source to this host's DVR MAC and the network's
 * VXLAN device carries it to that host (its FDB entry for the sg- MAC). dvr_snat_port
 * (tc ingress of the VM's tap): tap ifindex -> that frame. dvr_snat_local: the
 * destinations qrouter- routes itself (its subnets, its extra routes, link-local), per
 * tap, in dvr_fip_local's shape. Counters: per CPU, by reason (fip_path.h's dvr_fp_reason). */
#ifndef DVR_BPF_SNAT_PATH_H
#define DVR_BPF_SNAT_PATH_H

#include "fip_path.h"

#define DVR_SNAT_MAX_PORTS 65536
#define DVR_SNAT_MAX_LOCAL 262144

struct dvr_snat_port_key {
  dvr_u32 ifindex; /* the VM's tap, in the host namespace */
};

struct dvr_snat_port_val {
  dvr_u32 ip;          /* the VM's fixed IP, network order: other sources take the namespace path */
  dvr_u32 out_ifindex; /* its network's VXLAN device */
  dvr_u8 gw_mac[6];    /* what the VM addresses: qr- of its subnet */
  dvr_u8 src_mac[6];   /* this host's DVR MAC (the bridge's rewrite on the namespace path) */
  dvr_u8 sg_mac[6];    /* the router's sg- port on the subnet, on the dvr_snat host */
  dvr_u16 mtu;         /* of qr-: larger packets need the router's ICMP */
};

/* dvr_snat_local's key is struct dvr_fip_local_key (fip_path.h): (tap, prefix). */

#endif
