package bgpplan

import (
	"fmt"

	"github.com/barelb/barelb/internal/bgpmodel"
	"github.com/barelb/barelb/internal/config"
	"github.com/barelb/barelb/internal/eligibility"
)

// peersFor converts the BGPPeers selecting self into sessions, refusing
// those that cannot run as written.
func peersFor(peers []*config.Peer, self eligibility.Node, in Input) ([]bgpmodel.Peer, []Refusal) {
	var out []bgpmodel.Peer
	var refused []Refusal
	for _, cp := range peers {
		if !config.SelectsNode(cp.NodeSelectors, self.Labels) {
			continue
		}
		if len(cp.Unsupported) > 0 {
			refused = append(refused, Refusal{Peer: cp.Name, Unsupported: true, Reasons: cp.Unsupported})
			continue
		}
		p := cp.Peer
		if p.DualStack && p.Address.Unmap().Is4() && in.IPv6NextHop.IsValid() {
			p.IPv6NextHop = in.IPv6NextHop
		}
		if cp.PasswordSecret != "" {
			pw, ok := in.Passwords[cp.PasswordSecret]
			if !ok {
				// The message names the Secret, never its content.
				refused = append(refused, Refusal{Peer: cp.Name, Reasons: []string{fmt.Sprintf(
					"passwordSecret %q: no Secret of type kubernetes.io/basic-auth with a %q key in the speaker's namespace", cp.PasswordSecret, "password")}})
				continue
			}
			p.Password = pw
		}
		out = append(out, p)
	}
	return out, refused
}
