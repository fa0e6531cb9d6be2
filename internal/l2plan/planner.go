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
	svcs  map[string]*eligibility.Service
	byIP  map[netip.Addr][]*eligibility.Service // sorted by key

	ips     map[netip.Addr]*ipState
	classes map[string]*class
	// local indexes the Local IPs by the ready nodes of their first
	// Local Service: only those nodes can be their candidates.
	local map[string]map[netip.Addr]bool
	empty map[netip.Addr]bool // no candidate: the Refusal quotes the first node
	mixed map[netip.Addr]bool // in a unit whose candidates are an intersection

	el     *election.Election
	units  map[string][]netip.Addr // election unit -> its IPs, sorted
	unitOf map[netip.Addr]string
	winner map[string]string          // unit -> node
	won    map[string]map[string]bool // node -> units it wins

	dirty     map[netip.Addr]bool // to evaluate again
	regrouped bool                // a group changed since the last Place
	decisions map[netip.Addr]Decision
}

// ipState is how the Planner evaluated one IP.
type ipState struct {
	class *class // nil: refused before any node is checked; not elected
	// group: the candidates are the class's; otherwise cands.
	group bool
	cands []string
	set   map[string]bool // cands as a set, built when a unit intersects
	ready map[string]bool // the index key in Planner.local
}

// class is what every IP selected by the same L2Advertisements shares:
// the node checks' verdicts and, for IPs without a per-IP check (Local
// Services, interfaces), the candidates. It is an election group.
type class struct {
	key     string
	advs    []*config.L2Advertisement
	refused map[string]eligibility.Refusal
	final   []string // eligible, then damping and preference applied
	set     map[string]bool
	ips     map[netip.Addr]bool
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
		svcs:      make(map[string]*eligibility.Service, len(in.Services)),
		byIP:      make(map[netip.Addr][]*eligibility.Service, len(in.Services)),
		dirty:     map[netip.Addr]bool{},
		decisions: map[netip.Addr]Decision{},
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
	for ip := range p.byIP {
		p.dirty[ip] = true
	}
	p.flush()
}

func (p *Planner) reset(cfg *config.Config, carriers func(string, netip.Addr, []string) ([]string, string)) {
	if cfg == nil {
		cfg = &config.Config{}
	}
	p.cfg, p.carriers = cfg, carriers
	p.pools = p.pools[:0]
	for name, pool := range cfg.Pools {
		for _, r := range pool.Ranges {
			p.pools = append(p.pools, poolRange{r, name})
		}
	}
	slices.SortFunc(p.pools, func(a, b poolRange) int { return a.r.Compare(b.r) })
	p.poolAdvs = map[string][]*config.L2Advertisement{}
	p.ips = map[netip.Addr]*ipState{}
	p.classes = map[string]*class{}
	p.local = map[string]map[netip.Addr]bool{}
	p.empty = map[netip.Addr]bool{}
	p.mixed = map[netip.Addr]bool{}
	p.el = election.New()
	p.units = map[string][]netip.Addr{}
	p.unitOf = map[netip.Addr]string{}
	p.winner = map[string]string{}
	p.won = map[string]map[string]bool{}
	clear(p.decisions)
}

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

func (p *Planner) addService(s eligibility.Service) {
	if p.svcs[s.Key] != nil {
		p.removeService(s.Key) // a duplicate key: the last one counts
	}
	sp := &s
	p.svcs[s.Key] = sp
	for _, ip := range s.IPs {
		ss := p.byIP[ip]
		if slices.Contains(ss, sp) {
			continue // listed twice
		}
		i := sort.Search(len(ss), func(i int) bool { return ss[i].Key >= s.Key })
		p.byIP[ip] = slices.Insert(ss, i, sp)
		p.dirty[ip] = true
	}
}

func (p *Planner) removeService(key string) {
	old := p.svcs[key]
	if old == nil {
		return
	}
	delete(p.svcs, key)
	for _, ip := range old.IPs {
		ss := slices.DeleteFunc(p.byIP[ip], func(s *eligibility.Service) bool { return s == old })
		if len(ss) == 0 {
			delete(p.byIP, ip)
		} else {
			p.byIP[ip] = ss
		}
		p.dirty[ip] = true
	}
}

// SetNode adds the node or replaces the one of the same name, and plans
// again what it touches: its verdict in every class, the IPs whose
// Local Services are ready on it, and, when it is the first node, the
// IPs no node may announce (their Refusal quotes the first node).
//
// Cost: O(C·(N + a)) to redo the classes' candidates, the election's
// SetGroup per class whose candidates changed (O(N·32 + units of the
// class)) and Place; the IPs it touches as in SetService. With Carriers
// set every IP is evaluated again (O(IPs·N) calls).
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
	labelsChanged := old == nil || n == nil || !maps.Equal(old.Labels, n.Labels)
	for _, c := range p.classes {
		delete(c.ifaces, name)
		wasEmpty := len(c.final) == 0
		if n == nil {
			delete(c.refused, name)
		} else if r := c.check(*n); r.Refused() {
			c.refused[name] = r
		} else {
			delete(c.refused, name)
		}
		if p.refresh(c) && wasEmpty != (len(c.final) == 0) {
			for ip := range c.ips {
				p.dirty[ip] = true // unit splits and Refusals change
			}
		}
	}
	for ip := range p.local[name] {
		p.dirty[ip] = true
	}
	for ip := range p.mixed {
		p.dirty[ip] = true
	}
	if first {
		for ip := range p.empty {
			p.dirty[ip] = true
		}
	}
	if p.carriers != nil {
		for ip, st := range p.ips {
			if st.class != nil {
				p.dirty[ip] = true
			}
		}
	}
	p.flush()
	if labelsChanged {
		// The winner's interfaces come from the advertisements that
		// select it.
		for key := range p.won[name] {
			p.fill(key)
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
	c := &class{key: key, advs: advs, refused: map[string]eligibility.Refusal{}, ips: map[netip.Addr]bool{}, ifaces: map[string][]string{}}
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
	p.el.SetGroup(c.group(), final)
	p.regrouped = true
	return true
}

func (c *class) group() string { return "class/" + c.key }

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
	seeds := make([]netip.Addr, 0, len(p.dirty))
	for ip := range p.dirty {
		p.evaluate(ip)
		seeds = append(seeds, ip)
	}
	clear(p.dirty)
	touched := p.regroup(seeds)
	for _, key := range p.el.Place() {
		p.fill(key)
	}
	for _, key := range touched {
		p.fill(key)
	}
}

// fill copies a unit's winner into its IPs' decisions.
func (p *Planner) fill(key string) {
	w := p.el.Winner(key)
	if old, ok := p.winner[key]; ok && old != w {
		delete(p.won[old], key)
	}
	ips, ok := p.units[key]
	if !ok {
		delete(p.winner, key)
		return
	}
	if w != "" {
		p.winner[key] = w
		if p.won[w] == nil {
			p.won[w] = map[string]bool{}
		}
		p.won[w][key] = true
	} else {
		delete(p.winner, key)
	}
	for _, ip := range ips {
		d := p.decisions[ip]
		d.Node, d.Interfaces = w, nil
		if n := p.nodes[w]; n != nil {
			d.Interfaces = p.ips[ip].class.interfaces(n)
		}
		p.decisions[ip] = d
	}
}

// evaluate runs the chain for one IP: the checks before any node (pool,
// advertisements, serviceSelectors), then its class's node verdicts,
// then the per-IP checks (interfaces when Carriers is set, endpoints).
func (p *Planner) evaluate(ip netip.Addr) {
	if st := p.ips[ip]; st != nil {
		if st.class != nil {
			delete(st.class.ips, ip)
			if len(st.class.ips) == 0 {
				delete(p.classes, st.class.key)
				p.el.DeleteGroup(st.class.group())
			}
		}
		if st.ready != nil {
			for n := range st.ready {
				if delete(p.local[n], ip); len(p.local[n]) == 0 {
					delete(p.local, n)
				}
			}
		}
		delete(p.ips, ip)
	}
	delete(p.empty, ip)
	delete(p.mixed, ip)
	ss := p.byIP[ip]
	if len(ss) == 0 {
		delete(p.decisions, ip)
		return
	}
	st := &ipState{}
	p.ips[ip] = st
	d := Decision{Services: make([]string, len(ss))}
	for i, s := range ss {
		d.Services[i] = s.Key
	}
	refuse := func(r eligibility.Refusal) {
		d.Refusal = r
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
	c.ips[ip] = true
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
				p.local[name] = map[netip.Addr]bool{}
			}
			p.local[name][ip] = true
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
		p.empty[ip] = true
		d.Refusal = eligibility.Refusal{Reason: eligibility.ReasonNoNodeEligible, Message: "no node may announce it: the cluster has no nodes"}
		if len(p.order) > 0 {
			d.Refusal.Message = "no node may announce it: " + d.RefusalOf(p.order[0]).Message
		}
	}
	p.decisions[ip] = d
}

// candidates returns the final candidates of an elected IP and whether
// they are its class's group.
func (st *ipState) candidates() ([]string, bool) {
	if st.group {
		return st.class.final, true
	}
	return st.cands, false
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
func (p *Planner) regroup(seeds []netip.Addr) []string {
	// The IPs of a unit a seed was in are regrouped too: removing a
	// Service can split a unit.
	queue := slices.Clone(seeds)
	queued := make(map[netip.Addr]bool, len(seeds))
	for _, ip := range seeds {
		queued[ip] = true
	}
	assigned := make(map[netip.Addr]bool, len(seeds))
	var keys []string
	for len(queue) > 0 {
		start := queue[len(queue)-1]
		queue = queue[:len(queue)-1]
		if assigned[start] {
			continue
		}
		assigned[start] = true
		// One component: the elected IPs reachable through Services.
		var comp []netip.Addr
		stack := []netip.Addr{start}
		for len(stack) > 0 {
			ip := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if key, ok := p.unitOf[ip]; ok {
				for _, other := range p.units[key] {
					// Forget the old unit now: a new unit of this
					// pass may reuse its key.
					delete(p.unitOf, other)
					if !queued[other] {
						queued[other] = true
						queue = append(queue, other)
					}
				}
				p.el.DeleteUnit(key)
				delete(p.units, key)
				p.fill(key)
			}
			delete(p.unitOf, ip)
			if st := p.ips[ip]; st == nil || st.class == nil {
				// It may have joined its Services' other IPs into
				// one component; now they may be apart.
				for _, s := range p.byIP[ip] {
					for _, other := range s.IPs {
						if !queued[other] {
							queued[other] = true
							queue = append(queue, other)
						}
					}
				}
				continue
			}
			comp = append(comp, ip)
			for _, s := range p.byIP[ip] {
				for _, other := range s.IPs {
					if st := p.ips[other]; st != nil && st.class != nil && !assigned[other] {
						assigned[other] = true
						stack = append(stack, other)
					}
				}
			}
		}
		if len(comp) > 0 {
			keys = append(keys, p.unitsOf(comp)...)
		}
	}
	return keys
}

// unitsOf sets the election units of one component.
func (p *Planner) unitsOf(ips []netip.Addr) []string {
	slices.SortFunc(ips, netip.Addr.Compare)
	if len(ips) > 1 {
		first := p.ips[ips[0]]
		same := first.group
		for _, ip := range ips[1:] {
			st := p.ips[ip]
			same = same && st.group && st.class == first.class
		}
		if same && len(first.class.final) > 0 {
			return []string{p.setUnit(ips[0].String(), ips, election.Unit{Group: first.class.group()})}
		}
		if !same {
			// The intersection depends on a class's candidates, which
			// change without these IPs being evaluated again: mark
			// them, so that a node change regroups them.
			if slices.ContainsFunc(ips, func(ip netip.Addr) bool { return p.ips[ip].group }) {
				for _, ip := range ips {
					p.mixed[ip] = true
				}
			}
			cands, _ := first.candidates()
			common := slices.DeleteFunc(slices.Clone(cands), func(n string) bool {
				for _, ip := range ips[1:] {
					if !p.ips[ip].has(n) {
						return true
					}
				}
				return false
			})
			if len(common) > 0 {
				return []string{p.setUnit(ips[0].String(), ips, election.Unit{Candidates: common})}
			}
		}
	}
	keys := make([]string, len(ips))
	for i, ip := range ips {
		st := p.ips[ip]
		u := election.Unit{Candidates: st.cands}
		if st.group {
			u = election.Unit{Group: st.class.group()}
		}
		keys[i] = p.setUnit(ip.String(), []netip.Addr{ip}, u)
	}
	return keys
}

func (p *Planner) setUnit(key string, ips []netip.Addr, u election.Unit) string {
	u.Key = key
	p.el.SetUnit(u)
	p.units[key] = ips
	for _, ip := range ips {
		p.unitOf[ip] = key
	}
	return key
}
