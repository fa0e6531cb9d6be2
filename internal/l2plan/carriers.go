package l2plan

import (
	"net/netip"

	"github.com/barelb/barelb/internal/eligibility"
)

// interfaceDown is the link-aware refusal: a node none of whose
// interfaces that may carry ip is up (as its speaker gossips them) cannot
// answer for ip, even though it is alive, so it is refused and the IP goes
// to a node that can. Without Carriers every node passes, as before link
// states were gossiped.
func interfaceDown(node string, ip netip.Addr, reason string) eligibility.Refusal {
	return eligibility.Refusal{Reason: eligibility.ReasonInterfaceDown, Message: "node " + node + " cannot carry " + ip.String() + ": " + reason}
}
