package l2plan

import (
	"maps"
	"net/netip"
	"slices"
	"sort"
	"strings"

	"github.com/barelb/barelb/internal/addr"
	"github.com/barelb/barelb/internal/config"
	"github.com/barelb/barelb/internal/election"
	"github.com/barelb/barelb/internal/eligibility"
)

// Planner keeps a plan between calls, so that one Service or one node
// changing costs what it touches instead of a full Compute. After any
// sequence of calls its Plan is the one Compute returns for the Services
// and nodes it then holds (nodes in the order they were first set): the
// state is a cache, never an input.
//
// The Plan it returns is live: its decisions are replaced, and the
// Refused maps they share updated in place, by the Planner's later calls.
// Services and nodes are copied shallowly: their maps (labels, ready
// nodes) are shared and must not be modified after they are handed over.
//
// A Planner is not safe for concurrent use.
type Planner struct {
	cfg      *config.Config
	carriers func(string, netip.Addr, []string) ([]string, string)
	pools    []poolRange
	poolAdvs map[string][]*config.L2Advertisement

	order []string // node names in the order they were first set
	nodes map[string]*eligibility.Node
	svcs  map[string]*svcState
	ips   map[netip.Addr]*ipState

	classes map[string]*class
	// local indexes the Local IPs by the ready nodes of their first
	// Local Service: only those nodes can be their candidates.
	local map[string]map[*ipState]bool
	empty map[*ipState]bool // no candidate: the Refusal quotes the first node
	mixed map[*ipState]bool // a unit's candidates intersect a class's

	el    *election.Election
	units map[string]*unitState

	dirty     []*ipState // to evaluate again
	regrouped bool       // a group changed since the last Place
	epoch     uint32     // regroup's marks
	decisions map[netip.Addr]Decision

	// Sync's state: the ConfigKey of cfg (keyed: computed) and its
	// marks on the Services held.
	cfgKey    string
	keyed     bool
	syncEpoch uint64
	// syncAt is, per index of the last Sync's Services, the Service
	// held for it (nil: none, or an earlier duplicate), so that the next
	// Sync finds an unchanged one without a map lookup.
	syncAt, syncSpare []*svcState
}

// svcState is a Service held, linked to its IPs.
type svcState struct {
	s    *eligibility.Service
	ips  []*ipState
	seen uint64 // Sync's mark (its epoch)
	at   int    // its index in the last Sync's Services
	gone bool   // removed (or replaced) from the Planner
}

// ipState is how the Planner evaluated one IP. The Decision is built in
// d and copied into Planner.decisions once complete.
type ipState struct {
	ip   netip.Addr
	svcs []*svcState            // sorted by key
	ss   []*eligibility.Service // the same Services, for the checks
	d    Decision

	class *class // nil: refused before any node is checked; not elected
	// group: the candidates are the class's; otherwise cands.
	group bool
	cands []string
	set   map[string]bool // cands as a set, built when a unit intersects
	ready map[string]bool // the index key in Planner.local
	unit  *unitState

	dirty        bool
	queued, done uint32 // regroup's marks (epochs)
}

// unitState is one election unit: the IPs one node announces.
type unitState struct {
	key string
	ips []*ipState // sorted
}

// class is what every IP selected by the same L2Advertisements shares:
// the node checks' verdicts and, for IPs without a per-IP check (Local
// Services, interfaces), the candidates. It is an election group.
type class struct {
	key     string
	group   string // the election group's name
	advs    []*config.L2Advertisement
	refused map[string]eligibility.Refusal
	final   []string // eligible, then damping and preference applied
	set     map[string]bool
	ips     map[*ipState]bool
	ifaces  map[string][]string // interfacesFor per winner
}

// poolRange is one range of a pool, for the binary search of poolOf.
type poolRange struct {
	r    addr.Range
	pool string
}

// NewPlanner returns a Planner holding in, planned. Nodes must have
// distinct names; of duplicates the first counts.
//
// Cost: O(N·C·a + IPs·(s·a + log P)) for N nodes, C distinct sets of
// advertisements, a advertisements a pool, s Services an IP and P pool
// ranges, plus the per-IP checks (O(ready nodes) for a Local Service;
// O(N) calls of Carriers an IP when it is set), plus the election's cold
// Place (see internal/election).
func NewPlanner(in Input) *Planner {
	p := &Planner{
		nodes:     make(map[string]*eligibility.Node, len(in.Nodes)),
		svcs:      make(map[string]*svcState, len(in.Services)),
		ips:       make(map[netip.Addr]*ipState, len(in.Services)),
		decisions: make(map[netip.Addr]Decision, len(in.Services)),
	}
	for i := range in.Nodes {
		n := in.Nodes[i]
		if p.nodes[n.Name] == nil {
			p.nodes[n.Name] = &n
			p.order = append(p.order, n.Name)
		}
	}
	p.reset(in.Config, in.Carriers)
	for i := range in.Services {
		p.addService(in.Services[i])
	}
	p.flush()
	return p
}

// Reset replaces the configuration and the link-aware check and plans
// again from scratch (every IP, a new election): both can change the
// candidates of every IP.
func (p *Planner) Reset(cfg *config.Config, carriers func(node string, ip netip.Addr, interfaces []string) ([]string, string)) {
	p.reset(cfg, carriers)
	for _, st := range p.ips {
		st.class, st.ready, st.unit = nil, nil, nil
		p.markDirty(st)
	}
	p.flush()
}

func (p *Planner) reset(cfg *config.Config, carriers func(string, netip.Addr, []string) ([]string, string)) {
	if cfg == nil {
		cfg = &config.Config{}
	}
	p.cfg, p.carriers = cfg, carriers
	p.cfgKey, p.keyed = "", false
	p.pools = p.pools[:0]
	for name, pool := range cfg.Pools {
		for _, r := range pool.Ranges {
			p.pools = append(p.pools, poolRange{r, name})
		}
	}
	slices.SortFunc(p.pools, func(a, b poolRange) int { return a.r.Compare(b.r) })
	p.poolAdvs = map[string][]*config.L2Advertisement{}
	p.classes = map[string]*class{}
	p.local = map[string]map[*ipState]bool{}
	p.empty = map[*ipState]bool{}
	p.mixed = map[*ipState]bool{}
	p.el = election.New()
	p.units = map[string]*unitState{}
	clear(p.decisions)
}

// ElectionStats returns how the Planner's election placed its units since
// the Planner was made or Reset: how many placements elected every unit
// (the first, after a change of the placement order, or when a change
// reached more than a fraction of the units) and how many only what the
// changes reached.
func (p *Planner) ElectionStats() election.Stats { return p.el.Stats() }

// Plan returns the decision for every IP of the Services held.
func (p *Planner) Plan() Plan {
	return Plan{Decisions: p.decisions}
}

// SetService adds the Service or replaces the one of the same key, and
// plans again what it touches.
//
// Cost: O(s·a + log P) for each of its old and new IPs and the IPs
// sharing a unit with them, the per-IP checks, and the election's Place
// (O(N log N + units) plus the ranking of the changed units).
func (p *Planner) SetService(s eligibility.Service) {
	p.removeService(s.Key)
	p.addService(s)
	p.flush()
}

// DeleteService removes the Service of key, if any; cost as SetService.
func (p *Planner) DeleteService(key string) {
	p.removeService(key)
	p.flush()
}

func (p *Planner) markDirty(st *ipState) {
	if !st.dirty {
		st.dirty = true
		p.dirty = append(p.dirty, st)
	}
}

func (p *Planner) addService(s eligibility.Service) {
	if p.svcs[s.Key] != nil {
		p.removeService(s.Key) // a duplicate key: the last one counts
	}
	sv := &svcState{s: &s}
	p.svcs[s.Key] = sv
	for _, ip := range s.IPs {
		st := p.ips[ip]
		if st == nil {
			st = &ipState{ip: ip}
			p.ips[ip] = st
		}
		if slices.Contains(st.svcs, sv) {
			continue // listed twice
		}
		sv.ips = append(sv.ips, st)
		// New slices, not in place: a Decision handed out holds the old.
		i := sort.Search(len(st.svcs), func(i int) bool { return st.svcs[i].s.Key >= s.Key })
		st.svcs = slices.Insert(slices.Clip(st.svcs), i, sv)
		st.ss = slices.Insert(slices.Clip(st.ss), i, sv.s)
		p.markDirty(st)
	}
}

func (p *Planner) removeService(key string) {
	sv := p.svcs[key]
	if sv == nil {
		return
	}
	delete(p.svcs, key)
	sv.gone = true
	for _, st := range sv.ips {
		i := slices.Index(st.svcs, sv)
		st.svcs = slices.Delete(slices.Clone(st.svcs), i, i+1)
		st.ss = slices.Delete(slices.Clone(st.ss), i, i+1)
		p.markDirty(st)
	}
}

// SetNode adds the node or replaces the one of the same name, and plans
// again what it touches: its verdict in every class, the IPs whose
// Local Services are ready on it, and, when it is the first node, the
// IPs no node may announce (their Refusal quotes the first node).
//
// Cost: O(C·(N + a)) to redo the classes' candidates, the election's
// SetGroup per class whose candidates changed (O(N·32 + units of the
// class)) and Place; the IPs it touches as in SetService; O(units) more
// when its labels changed (the winners' interfaces). With Carriers set
// every IP is evaluated again (O(IPs·N) calls).
func (p *Planner) SetNode(n eligibility.Node) {
	old := p.nodes[n.Name]
	first := len(p.order) == 0
	if old == nil {
		p.order = append(p.order, n.Name)
	}
	p.nodes[n.Name] = &n
	p.nodeChanged(n.Name, old, first || p.order[0] == n.Name)
}

// DeleteNode removes the node of name, if any; cost as SetNode.
func (p *Planner) DeleteNode(name string) {
	old := p.nodes[name]
	if old == nil {
		return
	}
	first := p.order[0] == name
	delete(p.nodes, name)
	p.order = slices.DeleteFunc(p.order, func(s string) bool { return s == name })
	p.nodeChanged(name, old, first)
}

func (p *Planner) nodeChanged(name string, old *eligibility.Node, first bool) {
	n := p.nodes[name]
	for _, c := range p.classes {
		delete(c.ifaces, name)
		wasEmpty := len(c.final) == 0
		_, wasRefused := c.refused[name]
		eligible := false
		if n == nil {
			delete(c.refused, name)
		} else if r := c.check(*n); r.Refused() {
			c.refused[name] = r
		} else {
			delete(c.refused, name)
			eligible = true
		}
		if !eligible && (old == nil || wasRefused) {
			continue // neither before nor now a candidate of the class
		}
		if p.refresh(c) && wasEmpty != (len(c.final) == 0) {
			for st := range c.ips {
				p.markDirty(st) // unit splits and Refusals change
			}
		}
	}
	for st := range p.local[name] {
		p.markDirty(st)
	}
	for st := range p.mixed {
		p.markDirty(st)
	}
	if first {
		for st := range p.empty {
			p.markDirty(st)
		}
	}
	if p.carriers != nil {
		for _, st := range p.ips {
			if st.class != nil {
				p.markDirty(st)
			}
		}
	}
	p.flush()
	if old != nil && n != nil && !maps.Equal(old.Labels, n.Labels) {
		// The winner's interfaces come from the advertisements that
		// select it.
		for _, u := range p.units {
			if p.el.Winner(u.key) == name {
				p.fill(u)
			}
		}
	}
}

// classOf returns the class of advs, creating it.
func (p *Planner) classOf(advs []*config.L2Advertisement) *class {
	key := advs[0].Name
	if len(advs) > 1 {
		names := make([]string, len(advs))
		for i, a := range advs {
			names[i] = a.Name
		}
		key = strings.Join(names, "\x00")
	}
	if c := p.classes[key]; c != nil {
		return c
	}
	c := &class{key: key, group: "class/" + key, advs: advs, refused: map[string]eligibility.Refusal{}, ips: map[*ipState]bool{}, ifaces: map[string][]string{}}
	for _, name := range p.order {
		if r := c.check(*p.nodes[name]); r.Refused() {
			c.refused[name] = r
		}
	}
	p.classes[key] = c
	p.refresh(c)
	return c
}

// nodeChecks are the checks that depend on the node alone.
var nodeChecks = eligibility.Chain{eligibility.Alive, eligibility.NetworkAvailable, eligibility.NotExcluded}

// check is the node part of the chain for the class's IPs: alive,
// network, not excluded, selected by one of its advertisements.
func (c *class) check(n eligibility.Node) eligibility.Refusal {
	if r := nodeChecks.Evaluate(n, nil); r.Refused() {
		return r
	}
	if !slices.ContainsFunc(c.advs, func(a *config.L2Advertisement) bool { return config.SelectsNode(a.NodeSelectors, n.Labels) }) {
		return eligibility.Refusal{Reason: eligibility.ReasonNodeNotSelected, Message: "no L2Advertisement selects node " + n.Name}
	}
	return eligibility.Refusal{}
}

// refresh recomputes the class's candidates and its election group; it
// reports whether they changed.
func (p *Planner) refresh(c *class) bool {
	elig := make([]eligibility.Node, 0, len(p.order)-min(len(c.refused), len(p.order)))
	for _, name := range p.order {
		if _, refused := c.refused[name]; !refused {
			elig = append(elig, *p.nodes[name])
		}
	}
	final := nodeNames(preferred(c.advs, settled(elig)))
	if c.set != nil && slices.Equal(final, c.final) {
		return false
	}
	c.final = final
	c.set = make(map[string]bool, len(final))
	for _, n := range final {
		c.set[n] = true
	}
	p.el.SetGroup(c.group, final)
	p.regrouped = true
	return true
}

func (c *class) interfaces(n *eligibility.Node) []string {
	if out, ok := c.ifaces[n.Name]; ok {
		return out
	}
	out := interfacesFor(c.advs, *n)
	c.ifaces[n.Name] = out
	return out
}

func nodeNames(nodes []eligibility.Node) []string {
	out := make([]string, len(nodes))
	for i, n := range nodes {
		out[i] = n.Name
	}
	return out
}

// poolOf is config.PoolOf by binary search: the pools' ranges do not
// overlap (config.Build drops the newer of two overlapping pools).
func (p *Planner) poolOf(ip netip.Addr) string {
	i := sort.Search(len(p.pools), func(i int) bool { return ip.Less(p.pools[i].r.First) })
	if i > 0 && p.pools[i-1].r.Contains(ip) {
		return p.pools[i-1].pool
	}
	return ""
}

func (p *Planner) advertisements(pool string) []*config.L2Advertisement {
	advs, ok := p.poolAdvs[pool]
	if !ok {
		advs = advertisementsFor(p.cfg, pool)
		p.poolAdvs[pool] = advs
	}
	return advs
}

// flush evaluates the dirty IPs, rebuilds the election units they are
// in and places them.
func (p *Planner) flush() {
	if len(p.dirty) == 0 && !p.regrouped {
		return
	}
	p.regrouped = false
	dirty := p.dirty
	p.dirty = nil
	for _, st := range dirty {
		st.dirty = false
		p.evaluate(st)
	}
	touched := p.regroup(dirty)
	for _, st := range dirty {
		if len(st.svcs) == 0 && !st.dirty {
			delete(p.ips, st.ip)
		}
	}
	for _, key := range p.el.Place() {
		if u := p.units[key]; u != nil {
			p.fill(u)
		}
	}
	for _, u := range touched {
		if p.units[u.key] == u {
			p.fill(u)
		}
	}
}

// fill copies a unit's winner into its IPs' decisions.
func (p *Planner) fill(u *unitState) {
	w := p.el.Winner(u.key)
	n := p.nodes[w]
	for _, st := range u.ips {
		st.d.Node, st.d.Interfaces = w, nil
		if n != nil {
			st.d.Interfaces = st.class.interfaces(n)
		}
		p.decisions[st.ip] = st.d
	}
}

// evaluate runs the chain for one IP: the checks before any node (pool,
// advertisements, serviceSelectors), then its class's node verdicts,
// then the per-IP checks (interfaces when Carriers is set, endpoints).
// A refused IP's decision is final; an elected IP's waits for its unit.
func (p *Planner) evaluate(st *ipState) {
	if c := st.class; c != nil {
		delete(c.ips, st)
		if len(c.ips) == 0 {
			delete(p.classes, c.key)
			p.el.DeleteGroup(c.group)
		}
	}
	for n := range st.ready {
		if delete(p.local[n], st); len(p.local[n]) == 0 {
			delete(p.local, n)
		}
	}
	delete(p.empty, st)
	delete(p.mixed, st)
	st.class, st.group, st.cands, st.set, st.ready = nil, false, nil, nil, nil
	ip, ss := st.ip, st.ss
	if len(ss) == 0 {
		delete(p.decisions, ip)
		return
	}
	d := Decision{Services: make([]string, len(ss))}
	for i, s := range ss {
		d.Services[i] = s.Key
	}
	refuse := func(r eligibility.Refusal) {
		d.Refusal = r
		st.d = d
		p.decisions[ip] = d
	}
	pool := p.poolOf(ip)
	if pool == "" {
		refuse(eligibility.Refusal{Reason: eligibility.ReasonNotInPool, Message: "the address is in no IPAddressPool"})
		return
	}
	advs := p.advertisements(pool)
	if len(advs) == 0 {
		refuse(eligibility.Refusal{Reason: eligibility.ReasonNoAdvertisement, Message: "no L2Advertisement covers IPAddressPool " + pool})
		return
	}
	advs, r := forServices(pool, advs, ss)
	if r.Refused() {
		refuse(r)
		return
	}
	c := p.classOf(advs)
	st.class = c
	c.ips[st] = true
	d.Refused, d.svcs, d.known = c.refused, ss, p.nodes

	if p.carriers != nil {
		var own map[string]eligibility.Refusal
		for _, name := range p.order {
			if _, refused := c.refused[name]; refused {
				continue
			}
			n := p.nodes[name]
			if names, reason := p.carriers(name, ip, c.interfaces(n)); len(names) == 0 {
				if own == nil {
					own = maps.Clone(c.refused)
				}
				own[name] = interfaceDown(name, ip, reason)
			}
		}
		if own != nil {
			d.Refused = own
		}
	}
	var lead *eligibility.Service // the first Local Service
	none := false                 // a Service without ready endpoints refuses every node
	for _, s := range ss {
		none = none || len(s.ReadyNodes) == 0
		if s.Local && lead == nil {
			lead = s
		}
	}
	var cands []eligibility.Node
	switch {
	case none:
	case lead == nil && len(d.Refused) == len(c.refused):
		st.group = true
	case lead == nil:
		for _, name := range p.order {
			if _, refused := d.Refused[name]; !refused {
				cands = append(cands, *p.nodes[name])
			}
		}
	default:
		st.ready = lead.ReadyNodes
		for name := range lead.ReadyNodes {
			if p.local[name] == nil {
				p.local[name] = map[*ipState]bool{}
			}
			p.local[name][st] = true
			n := p.nodes[name]
			if _, refused := d.Refused[name]; n == nil || refused || eligibility.Endpoints(*n, ss).Refused() {
				continue
			}
			cands = append(cands, *n)
		}
	}
	if st.group && len(d.Refused) < len(p.order) || len(cands) > 0 {
		if !st.group {
			st.cands = nodeNames(preferred(advs, settled(cands)))
		}
	} else {
		st.group = false
		p.empty[st] = true
		d.Refusal = eligibility.Refusal{Reason: eligibility.ReasonNoNodeEligible, Message: "no node may announce it: the cluster has no nodes"}
		if len(p.order) > 0 {
			d.Refusal.Message = "no node may announce it: " + d.RefusalOf(p.order[0]).Message
		}
	}
	st.d = d
}

// candidates returns the final candidates of an elected IP.
func (st *ipState) candidates() []string {
	if st.group {
		return st.class.final
	}
	return st.cands
}

func (st *ipState) has(node string) bool {
	if st.group {
		return st.class.set[node]
	}
	if st.set == nil {
		st.set = make(map[string]bool, len(st.cands))
		for _, n := range st.cands {
			st.set[n] = true
		}
	}
	return st.set[node]
}

// regroup rebuilds the election units of the IPs connected to seeds: the
// IPs of a Service, and transitively of the Services sharing one of them,
// are one unit keyed by the smallest IP, unless they have no candidate
// in common (then each IP is its own unit). It returns the units set.
func (p *Planner) regroup(seeds []*ipState) []*unitState {
	p.epoch++
	ep := p.epoch
	// The IPs of a unit a seed was in are regrouped too (removing a
	// Service can split a unit), and so are the other IPs of an IP's
	// Services when it left the election (it may have joined them).
	queue := slices.Clone(seeds)
	for _, st := range seeds {
		st.queued = ep
	}
	enqueue := func(st *ipState) {
		if st.queued != ep {
			st.queued = ep
			queue = append(queue, st)
		}
	}
	var units []*unitState
	var comp, stack []*ipState
	for len(queue) > 0 {
		start := queue[len(queue)-1]
		queue = queue[:len(queue)-1]
		if start.done == ep {
			continue
		}
		start.done = ep
		comp, stack = comp[:0], append(stack[:0], start)
		for len(stack) > 0 {
			st := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if u := st.unit; u != nil {
				for _, o := range u.ips {
					o.unit = nil
					enqueue(o)
				}
				p.el.DeleteUnit(u.key)
				delete(p.units, u.key)
			}
			for _, sv := range st.svcs {
				for _, o := range sv.ips {
					switch {
					case st.class == nil:
						enqueue(o)
					case o.class != nil && o.done != ep:
						o.done = ep
						stack = append(stack, o)
					}
				}
			}
			if st.class != nil {
				comp = append(comp, st)
			}
		}
		if len(comp) > 0 {
			units = p.unitsOf(slices.Clone(comp), units)
		}
	}
	return units
}

// unitsOf sets the election units of one component and appends them to
// out.
func (p *Planner) unitsOf(ips []*ipState, out []*unitState) []*unitState {
	if len(ips) > 1 {
		slices.SortFunc(ips, func(a, b *ipState) int { return a.ip.Compare(b.ip) })
		first := ips[0]
		same := first.group
		for _, st := range ips[1:] {
			same = same && st.group && st.class == first.class
		}
		if same && len(first.class.final) > 0 {
			return append(out, p.setUnit(ips, election.Unit{Group: first.class.group}))
		}
		if !same {
			// The intersection depends on a class's candidates, which
			// change without these IPs being evaluated again: mark
			// them, so that a node change regroups them.
			if slices.ContainsFunc(ips, func(st *ipState) bool { return st.group }) {
				for _, st := range ips {
					p.mixed[st] = true
				}
			}
			common := slices.DeleteFunc(slices.Clone(first.candidates()), func(n string) bool {
				for _, st := range ips[1:] {
					if !st.has(n) {
						return true
					}
				}
				return false
			})
			if len(common) > 0 {
				return append(out, p.setUnit(ips, election.Unit{Candidates: common}))
			}
		}
	}
	for _, st := range ips {
		u := election.Unit{Candidates: st.cands}
		if st.group {
			u = election.Unit{Group: st.class.group}
		}
		out = append(out, p.setUnit([]*ipState{st}, u))
	}
	return out
}

func (p *Planner) setUnit(ips []*ipState, u election.Unit) *unitState {
	x := &unitState{key: ips[0].ip.String(), ips: ips}
	u.Key = x.key
	p.el.SetUnit(u)
	p.units[x.key] = x
	for _, st := range ips {
		st.unit = x
	}
	return x
}
