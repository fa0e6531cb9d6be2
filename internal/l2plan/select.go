package l2plan

import (
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/labels"

	"github.com/barelb/barelb/internal/config"
	"github.com/barelb/barelb/internal/eligibility"
)

// forServices narrows the advertisements of an address's pool to those
// whose serviceSelectors select its Services. Services sharing the address
// must be selected by the same advertisements: MetalLB elects per Service,
// so there two Services on one IP selected differently can be answered for
// by two nodes at once; here the address is refused and the reason says
// which Services disagree. ss is sorted by key.
func forServices(pool string, advs []*config.L2Advertisement, ss []*eligibility.Service) ([]*config.L2Advertisement, eligibility.Refusal) {
	var first []*config.L2Advertisement
	for i, s := range ss {
		var sel []*config.L2Advertisement
		for _, a := range advs {
			if config.SelectsService(a.ServiceSelectors, s.Labels) {
				sel = append(sel, a)
			}
		}
		if i == 0 {
			first = sel
			continue
		}
		if !slices.Equal(first, sel) {
			return nil, eligibility.Refusal{Reason: eligibility.ReasonSelectionDiffers, Message: fmt.Sprintf(
				"Services %s and %s share the address but are selected by different L2Advertisements (%s; %s): give them the same labels or make the serviceSelectors agree",
				ss[0].Key, s.Key, names(first), names(sel))}
		}
	}
	if len(first) == 0 {
		return nil, eligibility.Refusal{Reason: eligibility.ReasonNoAdvertisement, Message: fmt.Sprintf(
			"no L2Advertisement of IPAddressPool %s selects Service %s (serviceSelectors)", pool, ss[0].Key)}
	}
	return first, eligibility.Refusal{}
}

func names(advs []*config.L2Advertisement) string {
	if len(advs) == 0 {
		return "none"
	}
	s := make([]string, len(advs))
	for i, a := range advs {
		s[i] = a.Name
	}
	return strings.Join(s, ", ")
}

// preferred keeps the candidates of the heaviest preference tier: a
// node's weight is the sum of the weights of the preferredNodeSelectors
// it matches, counting only advertisements that select the node. When no
// candidate matches any preference (weight 0 everywhere), every candidate
// stays, so preference never leaves an address unannounced.
func preferred(advs []*config.L2Advertisement, cands []eligibility.Node) []eligibility.Node {
	if !slices.ContainsFunc(advs, func(a *config.L2Advertisement) bool { return len(a.PreferredNodes) > 0 }) {
		return cands
	}
	best := 0
	var out []eligibility.Node
	for _, n := range cands {
		w := weight(advs, n)
		switch {
		case w > best:
			best, out = w, append(out[:0], n)
		case w == best && w > 0:
			out = append(out, n)
		}
	}
	if best == 0 {
		return cands
	}
	return out
}

func weight(advs []*config.L2Advertisement, n eligibility.Node) int {
	w := 0
	for _, a := range advs {
		if len(a.PreferredNodes) == 0 || !config.SelectsNode(a.NodeSelectors, n.Labels) {
			continue
		}
		for _, p := range a.PreferredNodes {
			if p.Selector.Matches(labels.Set(n.Labels)) {
				w += int(p.Weight)
			}
		}
	}
	return w
}

// settled drops the settling candidates when a settled one is left:
// a node that came back takes addresses back only once it has been
// stable for the damping time, so a flapping node moves each address
// away once per flap instead of away and back. Settling nodes are still
// candidates when no settled node is eligible, so damping never leaves
// an address unannounced.
func settled(cands []eligibility.Node) []eligibility.Node {
	if !slices.ContainsFunc(cands, func(n eligibility.Node) bool { return n.Settling }) ||
		!slices.ContainsFunc(cands, func(n eligibility.Node) bool { return !n.Settling }) {
		return cands
	}
	return slices.DeleteFunc(slices.Clone(cands), func(n eligibility.Node) bool { return n.Settling })
}
