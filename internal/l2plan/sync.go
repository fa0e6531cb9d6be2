package l2plan

import (
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/labels"

	"github.com/barelb/barelb/internal/config"
	"github.com/barelb/barelb/internal/eligibility"
)

// SyncStats says what one Sync applied.
type SyncStats struct {
	// Rebuilt: Sync planned from scratch (the configuration changed,
	// Carriers was set or unset, or more changed than is worth applying
	// one by one); the counts below are then zero.
	Rebuilt bool
	// Relinked: every IP's link-aware check was evaluated again.
	Relinked                     bool
	ServicesSet, ServicesDeleted int
	NodesSet, NodesDeleted       int
}

// Changed reports whether Sync changed anything it holds.
func (s SyncStats) Changed() bool {
	return s.Rebuilt || s.Relinked || s.ServicesSet+s.ServicesDeleted+s.NodesSet+s.NodesDeleted > 0
}

// Beyond these many changes in one Sync, planning from scratch is
// cheaper than applying them one by one: at 5,000 nodes one node change
// costs about 1/100 of a full plan (see doc.go), and the Services changed
// are applied in one batch whose evaluation and election approach a full
// plan's as they approach all of them.
var (
	rebuildNodes    = 32
	rebuildServices = func(held int) int { return held / 4 }
)

// Sync makes the Planner hold in: afterwards its Plan is Compute(in)'s.
// It compares in with what it holds and applies only the differences:
// the Services added, changed or removed (by key; of duplicates the last
// counts, as in Compute), then the nodes (by name; of duplicates the
// first counts), each as SetService, DeleteService, SetNode, DeleteNode
// would, the Services in one batch. The nodes' order becomes in's.
//
// in.Config is compared by ConfigKey, so a configuration rebuilt from the
// same objects costs no new plan; a different one plans from scratch.
// in.Carriers, a function, cannot be compared: the caller says with
// linksChanged whether it may answer differently from the one held (the
// gossiped links changed), and then every IP's link check is evaluated
// again (O(IPs × N) calls, as any node change costs with Carriers set)
// while the election keeps its state. Carriers set where it was unset,
// or the reverse, plans from scratch. The new Carriers replaces the held
// one either way.
//
// A Service or node is unchanged when its fields are equal; maps (labels,
// ready nodes) are equal when they are the same map, else by content.
// Handing over the same maps from call to call (the API objects' labels
// as the informer cache holds them) makes the comparison O(1) each.
//
// Cost: the comparison is O(S + N) field compares for S Services and N
// nodes (a Service is looked up by key only when it is not at its index
// of the last call, shifted by the Services inserted or removed before
// it; nodes are looked up by name), plus O(size) for each pair of maps that are not
// the same map (ready nodes rebuilt per pass, say), plus ConfigKey; then
// what the changes cost (see SetService, SetNode). Past rebuildNodes node
// changes or a quarter of the Services changed, it plans from scratch
// instead, as NewPlanner. The Plan returned before a rebuild is no longer
// updated: read Plan after Sync.
func (p *Planner) Sync(in Input, linksChanged bool) SyncStats {
	if !p.keyed {
		p.cfgKey, p.keyed = ConfigKey(p.cfg), true
	}
	key := ConfigKey(in.Config)
	if key != p.cfgKey || (in.Carriers == nil) != (p.carriers == nil) {
		return p.rebuild(in, key)
	}
	setS, goneS := p.diffServices(in.Services)
	setN, goneN, order := p.diffNodes(in.Nodes)
	if len(setN)+len(goneN) > rebuildNodes || len(setS)+len(goneS) > max(1, rebuildServices(len(p.svcs))) {
		return p.rebuild(in, key)
	}
	st := SyncStats{ServicesSet: len(setS), ServicesDeleted: len(goneS), NodesSet: len(setN), NodesDeleted: len(goneN)}
	p.carriers = in.Carriers
	for _, k := range goneS {
		p.removeService(k)
	}
	for _, i := range setS {
		p.removeService(in.Services[i].Key)
		p.addService(in.Services[i])
		sv := p.svcs[in.Services[i].Key]
		p.syncAt[i], sv.at = sv, i
	}
	if linksChanged && p.carriers != nil {
		st.Relinked = true
		for _, s := range p.ips {
			if s.class != nil {
				p.markDirty(s)
			}
		}
	}
	p.flush()
	for _, name := range goneN {
		p.DeleteNode(name)
	}
	for _, i := range setN {
		p.SetNode(in.Nodes[i])
	}
	if order != nil && !slices.Equal(order, p.order) {
		// Only the first node's place shows in a plan: the Refusal of
		// an IP no node may announce quotes it.
		was := ""
		if len(p.order) > 0 {
			was = p.order[0]
		}
		p.order = order
		if len(order) > 0 && order[0] != was {
			for s := range p.empty {
				p.markDirty(s)
			}
			p.flush()
		}
	}
	return st
}

func (p *Planner) rebuild(in Input, key string) SyncStats {
	*p = *NewPlanner(in)
	p.cfgKey, p.keyed = key, true
	return SyncStats{Rebuilt: true}
}

// diffServices returns the indexes in svcs of the Services to set (new
// or changed; the last of a key) and the keys of those held but gone. It
// marks each held Service met with this call's epoch, so finding the
// gone ones needs no set of svcs' keys: a walk of the held ones, only
// when some were not met. A held Service is found at its index in the
// last call's svcs (shifted by the Services inserted or removed before
// it, learnt from the last one found by key), else by key.
func (p *Planner) diffServices(svcs []eligibility.Service) (set []int, gone []string) {
	p.syncEpoch++
	ep := p.syncEpoch
	var fresh map[string]bool // new keys met, for duplicates
	met := 0
	last := p.syncAt
	at := slices.Grow(p.syncSpare[:0], len(svcs))[:len(svcs)]
	clear(at)
	shift := len(last) - len(svcs) // from the end: the same tail, shifted
	for i := len(svcs) - 1; i >= 0; i-- {
		s := &svcs[i]
		var sv *svcState
		if j := i + shift; j >= 0 && j < len(last) && last[j] != nil && !last[j].gone && last[j].s.Key == s.Key {
			sv = last[j]
		} else if sv = p.svcs[s.Key]; sv != nil && sv.seen != ep {
			shift = sv.at - i
		}
		if sv != nil {
			if sv.seen != ep {
				at[i], sv.at = sv, i
			}
			if sv.seen == ep {
				continue // an earlier duplicate: the last one counts
			}
			sv.seen = ep
			met++
			if sameService(sv.s, s) {
				continue
			}
		} else {
			if fresh[s.Key] {
				continue
			}
			if fresh == nil {
				fresh = map[string]bool{}
			}
			fresh[s.Key] = true
		}
		set = append(set, i)
	}
	if met < len(p.svcs) {
		for k, sv := range p.svcs {
			if sv.seen != ep {
				gone = append(gone, k)
			}
		}
		slices.Sort(gone) // deterministic order of work, not of result
	}
	p.syncAt, p.syncSpare = at, last
	return set, gone
}

// diffNodes returns the indexes in nodes of the nodes to set (new or
// changed; the first of a name), the names held but gone and, when the
// names differ from the held order, the new order (nil otherwise). The
// common case, the same names in the same order, needs no set of names.
func (p *Planner) diffNodes(nodes []eligibility.Node) (set []int, gone, order []string) {
	same := len(nodes) == len(p.order)
	for i := 0; same && i < len(nodes); i++ {
		same = nodes[i].Name == p.order[i]
	}
	if same {
		for i := range nodes {
			if !sameNode(p.nodes[nodes[i].Name], &nodes[i]) {
				set = append(set, i)
			}
		}
		return set, nil, nil
	}
	seen := make(map[string]bool, len(nodes))
	order = make([]string, 0, len(nodes))
	for i := range nodes {
		n := &nodes[i]
		if seen[n.Name] {
			continue
		}
		seen[n.Name] = true
		order = append(order, n.Name)
		if held := p.nodes[n.Name]; held == nil || !sameNode(held, n) {
			set = append(set, i)
		}
	}
	for _, name := range p.order {
		if !seen[name] {
			gone = append(gone, name)
		}
	}
	return set, gone, order
}

func sameService(a, b *eligibility.Service) bool {
	return a.Key == b.Key && a.Local == b.Local && slices.Equal(a.IPs, b.IPs) &&
		sameMap(a.Labels, b.Labels) && sameMap(a.ReadyNodes, b.ReadyNodes)
}

func sameNode(a, b *eligibility.Node) bool {
	return a.Name == b.Name && a.Alive == b.Alive && a.NetworkUnavailable == b.NetworkUnavailable &&
		a.Settling == b.Settling && sameMap(a.Labels, b.Labels)
}

// sameMap: the same map (the Planner's inputs are not modified once
// handed over, so the same map has the same content) or equal content.
// A nil and an empty map are the same to every check.
func sameMap[V comparable](a, b map[string]V) bool {
	if len(a) != len(b) {
		return false
	}
	if len(a) == 0 || reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(b).UnsafePointer() {
		return true
	}
	return maps.Equal(a, b)
}

// ConfigKey is a fingerprint of what a plan reads of cfg: the pools'
// names and ranges, and the L2Advertisements (in order) with their pools,
// node and Service selectors, interfaces and preferences. Configurations
// with the same key give the same plan for the same nodes and Services,
// whatever else differs (BGP, a pool's other fields, the objects'
// versions). Cost: O(size of the pools' ranges and L2Advertisements),
// one string of about that size.
func ConfigKey(cfg *config.Config) string {
	if cfg == nil {
		return ""
	}
	var b strings.Builder
	for _, name := range slices.Sorted(maps.Keys(cfg.Pools)) {
		b.WriteString("pool\x00")
		b.WriteString(name)
		for _, r := range cfg.Pools[name].Ranges {
			b.WriteByte(0)
			b.WriteString(r.String())
		}
		b.WriteByte('\n')
	}
	sels := func(what string, ss []labels.Selector) {
		b.WriteString(what)
		for _, s := range ss {
			b.WriteByte(0)
			writeSelector(&b, s)
		}
	}
	for _, a := range cfg.L2Advertisements {
		b.WriteString("l2\x00")
		b.WriteString(a.Name)
		b.WriteString("\x01pools")
		for _, p := range slices.Sorted(maps.Keys(a.Pools)) {
			if a.Pools[p] {
				b.WriteByte(0)
				b.WriteString(p)
			}
		}
		sels("\x01nodes", a.NodeSelectors)
		sels("\x01services", a.ServiceSelectors)
		b.WriteString("\x01interfaces")
		for _, i := range a.Interfaces {
			b.WriteByte(0)
			b.WriteString(i)
		}
		b.WriteString("\x01preferred")
		for _, p := range a.PreferredNodes {
			b.WriteByte(0)
			b.WriteString(strconv.Itoa(int(p.Weight)))
			b.WriteByte(':')
			writeSelector(&b, p.Selector)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// writeSelector writes s's canonical text (requirements and values
// sorted), marked by Empty: labels.Nothing and labels.Everything both
// print as "".
func writeSelector(b *strings.Builder, s labels.Selector) {
	if s == nil {
		b.WriteString("nil")
		return
	}
	if s.Empty() {
		b.WriteString("everything")
		return
	}
	b.WriteByte('=')
	b.WriteString(s.String())
}
