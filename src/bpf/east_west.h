/* The east-west fast path's maps, shared by the eBPF program (east_west.bpf.c) and the
 * agent that fills them (src/kernel/bpf_fastpath.cc). Plain C, fixed-size fields, network
 * byte order for addresses: the layout is the contract between the two.
 *
 * A distributed router routes between its subnets on every host. dvr_ew_port (tc ingress
 * of a VM's tap): tap ifindex -> the router it sends through (a number the agent picks,
 * dvr_ew_router), the gateway MAC it addresses (qr- of its subnet) and its fixed IP.
 * dvr_ew_dst: (router, destination IP) -> the frame qrouter- sends that VM and where it
 * goes: the VM's tap on this host (source: qr- of its subnet), or the VXLAN device of its
 * network for a VM elsewhere (source: this host's DVR MAC, as the bridge's DVR rewrite
 * would set it; the device's FDB entry gives the remote tunnel address and the VNI is the
 * device's). Counters: per CPU, by reason (fip_path.h's dvr_fp_reason). */
#ifndef DVR_BPF_EAST_WEST_H
#define DVR_BPF_EAST_WEST_H

#include "fip_path.h"

#define DVR_EW_MAX_PORTS 65536
#define DVR_EW_MAX_DSTS 262144

struct dvr_ew_port_key {
  dvr_u32 ifindex; /* the VM's tap, in the host namespace */
};

struct dvr_ew_port_val {
  dvr_u32 router;   /* dvr_ew_dst_key.router */
  dvr_u32 ip;       /* the VM's fixed IP, network order: other sources take the namespace path */
  dvr_u8 gw_mac[6]; /* what the VM addresses: qr- of its subnet */
  dvr_u16 pad;
};

struct dvr_ew_dst_key {
  dvr_u32 router;
  dvr_u32 ip; /* network order */
};

enum dvr_ew_flags { DVR_EW_REMOTE = 1 }; /* out_ifindex is a VXLAN device */

struct dvr_ew_dst_val {
  dvr_u32 out_ifindex; /* the VM's tap, or its network's VXLAN device */
  dvr_u8 src_mac[6];   /* qr- of the destination subnet, or this host's DVR MAC */
  dvr_u8 dst_mac[6];   /* the VM */
  dvr_u16 mtu;         /* of that qr-: larger packets need the router's ICMP */
  dvr_u16 flags;
};

#endif
