package bgpplan

import (
	"fmt"

	"github.com/barelb/barelb/internal/announce"
	"github.com/barelb/barelb/internal/bgp"
	"github.com/barelb/barelb/internal/config"
)

// peersFor converts the BGPPeers selecting self into sessions, refusing
// those that cannot run as written.
func peersFor(peers []*config.Peer, self announce.Node, in Input) ([]bgp.Peer, []Refusal) {
	var out []bgp.Peer
	var refused []Refusal
	for _, cp := range peers {
		if !config.SelectsNode(cp.NodeSelectors, self.Labels) {
			continue
		}
		if len(cp.Unsupported) > 0 {
			refused = append(refused, Refusal{Peer: cp.Name, Unsupported: true, Reasons: cp.Unsupported})
			continue
		}
		// localASN stands in for myASN on this session only, as FRR's
		// "local-as N no-prepend replace-as": the peer sees, and the AS path
		// carries, only localASN.
		myASN := cp.MyASN
		if cp.LocalASN != 0 {
			myASN = cp.LocalASN
		}
		p := bgp.Peer{
			Name: cp.Name, MyASN: myASN, PeerASN: cp.ASN, DynamicASN: bgp.DynamicASN(cp.DynamicASN),
			Address: cp.Address, Port: cp.Port, SourceAddress: cp.SrcAddress, RouterID: cp.RouterID,
			EBGPMultiHop: cp.EBGPMultiHop, Password: cp.Password,
			GracefulRestart: cp.EnableGracefulRestart, DualStack: cp.DualStackAddressFamily,
		}
		if cp.HoldTime != nil {
			p.HoldTime = *cp.HoldTime
		}
		if cp.KeepaliveTime != nil {
			p.KeepaliveTime = *cp.KeepaliveTime
		}
		if cp.ConnectTime != nil {
			p.ConnectTime = *cp.ConnectTime
		}
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
