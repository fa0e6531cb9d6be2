package l2plan

import (
	"net/netip"

	"github.com/barelb/barelb/internal/config"
	"github.com/barelb/barelb/internal/eligibility"
)

// carries is the link-aware check: a node none of whose interfaces that
// may carry ip is up (as its speaker gossips them) cannot answer for ip,
// even though it is alive, so it is refused and the IP goes to a node
// that can. Without carriers every node passes, as before link states
// were gossiped.
func carries(carriers func(string, netip.Addr, []string) ([]string, string), ip netip.Addr, advs []*config.L2Advertisement) eligibility.Check {
	return func(n eligibility.Node, _ []*eligibility.Service) eligibility.Refusal {
		if carriers == nil {
			return eligibility.Refusal{}
		}
		names, reason := carriers(n.Name, ip, interfacesFor(advs, n))
		if len(names) > 0 {
			return eligibility.Refusal{}
		}
		return eligibility.Refusal{Reason: eligibility.ReasonInterfaceDown, Message: "node " + n.Name + " cannot carry " + ip.String() + ": " + reason}
	}
}
