// Pictures as Graphviz DOT text, built from what the trace and the plans already know:
// a traced packet's way through hosts, namespaces, bridges and devices; one host's plan;
// a whole cloud. Pure: no layout here (draw/graphviz.h lays the text out).
//
// Node ids and labels are escaped for DOT's HTML-like labels; each device appears with
// its name, addresses and MAC as the plans give them.
#pragma once

#include <string>
#include <vector>

#include "model/cloud.h"
#include "plan/host_plan.h"
#include "trace/tracer.h"

namespace dvr::draw {

struct TraceDrawing {
  bool with_reply = true;
};

// One box per host the packet passes (the underlay, the external network and the
// outside hosts too), inside it a box per namespace or bridge passed, the devices as its
// ports; numbered arrows along the way, the headers after each hop with rewritten fields
// marked "*" and bold; the reply in another colour. A dropped packet ends at its drop.
std::string traceDot(const trace::TraceResult& result, const std::vector<plan::HostPlan>& plans,
                     const TraceDrawing& how = {});

// One host: its namespaces (and the host namespace), their devices with addresses, the
// bridges with their ports, veth pairs as lines between their ends, VXLAN ports with
// their VNI and remote hosts.
std::string hostPlanDot(const plan::HostPlan& plan);

// The whole cloud: hosts, the routers each holds a qrouter- for, where SNAT and fip-
// are, and the networks the routers join.
std::string cloudDot(const model::Cloud& cloud, const std::vector<plan::HostPlan>& plans);

// "&", "<", ">", '"' escaped for an HTML-like label.
std::string htmlEscape(const std::string& text);

}  // namespace dvr::draw
