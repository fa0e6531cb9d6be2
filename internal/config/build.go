package config

import (
	"fmt"
	"math"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/barelb/barelb/api/v1beta1"
	"github.com/barelb/barelb/api/v1beta2"
	"github.com/barelb/barelb/internal/addr"
	"github.com/barelb/barelb/internal/bfd"
	"github.com/barelb/barelb/internal/bgpmodel"
)

// Input is every configuration object in barelb's namespace.
type Input struct {
	Pools             []v1beta1.IPAddressPool
	L2Advertisements  []v1beta1.L2Advertisement
	BGPAdvertisements []v1beta1.BGPAdvertisement
	Peers             []v1beta2.BGPPeer
	Communities       []v1beta1.Community
	BFDProfiles       []v1beta1.BFDProfile
	// InUse names the pools of the previous valid configuration. Creation
	// timestamps have one-second resolution, so two overlapping pools can
	// tie; the one already in use then wins, and its addresses stay.
	InUse map[string]bool
	// Unreadable are the stored objects that could not be decoded into
	// their Go type (see kube.ListConfig): Build reports them with the
	// rest, and they are in none of the lists above.
	Unreadable Problems
}

// Object kinds as they appear in problems.
const (
	KindPool     = "IPAddressPool"
	KindL2Adv    = "L2Advertisement"
	KindBGPAdv   = "BGPAdvertisement"
	KindPeer     = "BGPPeer"
	KindCommunty = "Community"
	KindBFD      = "BFDProfile"
)

// Build validates in and returns the model of everything that is valid,
// with every problem found. It never returns a nil Config.
func Build(in Input) (*Config, Problems) {
	ps := slices.Clone(in.Unreadable)
	c := &Config{Pools: map[string]*Pool{}}
	pools := buildPools(in.Pools, in.InUse, &ps)
	for _, p := range pools {
		c.Pools[p.Name] = p
	}
	aliases := buildCommunities(in.Communities, &ps)
	for i := range in.L2Advertisements {
		if a := buildL2(&in.L2Advertisements[i], c.Pools, &ps); a != nil {
			c.L2Advertisements = append(c.L2Advertisements, a)
		}
	}
	for i := range in.BGPAdvertisements {
		a, held := buildBGPAdv(&in.BGPAdvertisements[i], c.Pools, aliases, &ps)
		if a != nil {
			c.BGPAdvertisements = append(c.BGPAdvertisements, a)
		}
		if held {
			c.HeldBack = append(c.HeldBack, in.BGPAdvertisements[i].Name)
		}
	}
	bfd := make(map[string]*v1beta1.BFDProfile, len(in.BFDProfiles))
	for i := range in.BFDProfiles {
		bfd[in.BFDProfiles[i].Name] = &in.BFDProfiles[i]
	}
	for i := range in.Peers {
		if p := buildPeer(&in.Peers[i], bfd, &ps); p != nil {
			c.Peers = append(c.Peers, p)
		}
	}
	sort.Slice(c.L2Advertisements, func(i, j int) bool { return c.L2Advertisements[i].Name < c.L2Advertisements[j].Name })
	sort.Slice(c.BGPAdvertisements, func(i, j int) bool { return c.BGPAdvertisements[i].Name < c.BGPAdvertisements[j].Name })
	localPrefConflicts(c.BGPAdvertisements, &ps)
	sort.Slice(c.Peers, func(i, j int) bool { return c.Peers[i].Name < c.Peers[j].Name })
	return c, ps.sorted()
}

// buildPools parses each pool and then drops, of two overlapping pools,
// the newer one: the older pool may already hold assignments.
func buildPools(in []v1beta1.IPAddressPool, inUse map[string]bool, ps *Problems) []*Pool {
	objs := make([]*v1beta1.IPAddressPool, len(in))
	for i := range in {
		objs[i] = &in[i]
	}
	sort.SliceStable(objs, func(i, j int) bool {
		a, b := &objs[i].ObjectMeta, &objs[j].ObjectMeta
		if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
			return a.CreationTimestamp.Before(&b.CreationTimestamp)
		}
		if inUse[a.Name] != inUse[b.Name] {
			return inUse[a.Name]
		}
		return a.Name < b.Name
	})

	var parsed []*Pool
	for _, o := range objs {
		if p, ok := buildPool(o, ps); ok {
			parsed = append(parsed, p)
		}
	}
	taken := newTakenIndex(parsed)
	var out []*Pool
	for i, p := range parsed {
		clash := false
		for _, r := range p.Ranges {
			for _, t := range taken.overlapping(r) {
				ps.add(KindPool, p.Name, "range %s overlaps %s of IPAddressPool %q (the older pool keeps it; this pool is not used until the overlap is removed)", r, t.r, t.pool)
				clash = true
			}
		}
		if clash {
			continue
		}
		taken.take(i)
		out = append(out, p)
	}
	return out
}

// takenIndex finds, among the ranges of the pools kept so far, those that
// overlap a range, in O(log R) per range and per overlap found for R
// ranges in all (the pairwise check it replaced cost O(R²): 10,000 pools
// are 200 million comparisons). Every range of every pool is sorted once by
// first address; a Fenwick tree over those positions marks the ranges
// taken. Taken ranges are disjoint (a pool overlapping one is refused, and
// one overlapping itself is invalid), so, sorted by first address, their
// last addresses increase too: those overlapping [a, b] are the taken
// ranges just before the last one starting at or below b, walking back
// while they end at or after a.
type takenIndex struct {
	all  []owned
	at   [][]int // per pool, the positions of its ranges in all
	tree []int   // Fenwick tree: counts of taken ranges, 1-based
}

type owned struct {
	r    addr.Range
	pool string
}

func newTakenIndex(pools []*Pool) *takenIndex {
	type entry struct {
		owned
		pool, i int
	}
	var es []entry
	for pi, p := range pools {
		for i, r := range p.Ranges {
			es = append(es, entry{owned{r, p.Name}, pi, i})
		}
	}
	slices.SortFunc(es, func(a, b entry) int { return a.r.Compare(b.r) })
	t := &takenIndex{all: make([]owned, len(es)), at: make([][]int, len(pools)), tree: make([]int, len(es)+1)}
	for pi, p := range pools {
		t.at[pi] = make([]int, len(p.Ranges))
	}
	for pos, e := range es {
		t.all[pos] = e.owned
		t.at[e.pool][e.i] = pos
	}
	return t
}

// take marks the ranges of pool i (an index into the pools given to
// newTakenIndex) taken.
func (t *takenIndex) take(i int) {
	for _, pos := range t.at[i] {
		for j := pos + 1; j < len(t.tree); j += j & -j {
			t.tree[j]++
		}
	}
}

// count returns how many of the first n positions are taken.
func (t *takenIndex) count(n int) int {
	c := 0
	for j := n; j > 0; j -= j & -j {
		c += t.tree[j]
	}
	return c
}

// nth returns the position of the k-th taken range (k from 1).
func (t *takenIndex) nth(k int) int {
	pos, step := 0, 1
	for step*2 < len(t.tree) {
		step *= 2
	}
	for ; step > 0; step /= 2 {
		if next := pos + step; next < len(t.tree) && t.tree[next] < k {
			pos, k = next, k-t.tree[next]
		}
	}
	return pos // 0-based: pos+1 is the 1-based index found
}

// overlapping returns the taken ranges that overlap r, lowest first.
func (t *takenIndex) overlapping(r addr.Range) []owned {
	end := sort.Search(len(t.all), func(i int) bool { return r.Last.Less(t.all[i].r.First) })
	var out []owned
	for k := t.count(end); k > 0; k-- {
		o := t.all[t.nth(k)]
		if !o.r.Overlaps(r) {
			break
		}
		out = append(out, o)
	}
	slices.Reverse(out)
	return out
}

func buildPool(o *v1beta1.IPAddressPool, ps *Problems) (*Pool, bool) {
	p := &Pool{
		Name:          o.Name,
		Labels:        o.Labels,
		AutoAssign:    o.Spec.AutoAssign == nil || *o.Spec.AutoAssign,
		AvoidBuggyIPs: o.Spec.AvoidBuggyIPs,
	}
	ok := true
	if len(o.Spec.Addresses) == 0 {
		ps.add(KindPool, o.Name, "spec.addresses is empty")
		ok = false
	}
	for i, a := range o.Spec.Addresses {
		r, note, err := addr.ParsePoolRange(string(a))
		if err != nil {
			ps.add(KindPool, o.Name, "spec.addresses[%d]: %v", i, err)
			ok = false
			continue
		}
		if note != "" {
			p.Notes = append(p.Notes, fmt.Sprintf("spec.addresses[%d]: %s", i, note))
		}
		for _, prev := range p.Ranges {
			if prev.Overlaps(r) {
				ps.add(KindPool, o.Name, "spec.addresses[%d] %s overlaps %s in the same pool", i, r, prev)
				ok = false
			}
		}
		p.Ranges = append(p.Ranges, r)
	}
	if sa := o.Spec.AllocateTo; sa != nil {
		p.Priority = sa.Priority
		p.Namespaces = sa.Namespaces
		var err error
		if p.NamespaceSelectors, err = selectors(sa.NamespaceSelectors); err != nil {
			ps.add(KindPool, o.Name, "spec.serviceAllocation.namespaceSelectors: %v", err)
			ok = false
		}
		if p.ServiceSelectors, err = selectors(sa.ServiceSelectors); err != nil {
			ps.add(KindPool, o.Name, "spec.serviceAllocation.serviceSelectors: %v", err)
			ok = false
		}
	}
	return p, ok
}

// poolSet resolves an advertisement's pool names and selectors. No names
// and no selectors means every pool, as in MetalLB.
func poolSet(kind, name string, names []string, sels []metav1.LabelSelector, pools map[string]*Pool, ps *Problems) (map[string]bool, bool) {
	set := map[string]bool{}
	if len(names) == 0 && len(sels) == 0 {
		for n := range pools {
			set[n] = true
		}
		return set, true
	}
	for _, n := range names {
		if _, ok := pools[n]; !ok {
			ps.add(kind, name, "names IPAddressPool %q, which does not exist (or is invalid)", n)
			continue
		}
		set[n] = true
	}
	ss, err := selectors(sels)
	if err != nil {
		ps.add(kind, name, "ipAddressPoolSelectors: %v", err)
		return nil, false
	}
	for _, s := range ss {
		for n, p := range pools {
			if s.Matches(labels.Set(p.Labels)) {
				set[n] = true
			}
		}
	}
	return set, true
}

func buildL2(o *v1beta1.L2Advertisement, pools map[string]*Pool, ps *Problems) *L2Advertisement {
	set, ok := poolSet(KindL2Adv, o.Name, o.Spec.IPAddressPools, o.Spec.IPAddressPoolSelectors, pools, ps)
	if !ok {
		return nil
	}
	nodes, err := selectors(o.Spec.NodeSelectors)
	if err != nil {
		ps.add(KindL2Adv, o.Name, "nodeSelectors: %v", err)
		return nil
	}
	svcs, err := selectors(o.Spec.ServiceSelectors)
	if err != nil {
		ps.add(KindL2Adv, o.Name, "serviceSelectors: %v", err)
		return nil
	}
	a := &L2Advertisement{Name: o.Name, Pools: set, NodeSelectors: nodes, Interfaces: o.Spec.Interfaces, ServiceSelectors: svcs}
	for i := range o.Spec.PreferredNodeSelectors {
		pref := &o.Spec.PreferredNodeSelectors[i]
		sel, err := metav1.LabelSelectorAsSelector(&pref.Preference)
		if err != nil {
			ps.add(KindL2Adv, o.Name, "preferredNodeSelectors[%d].preference: %v", i, err)
			return nil
		}
		a.PreferredNodes = append(a.PreferredNodes, NodePreference{Weight: pref.Weight, Selector: sel})
	}
	return a
}

func buildBGPAdv(o *v1beta1.BGPAdvertisement, pools map[string]*Pool, aliases map[string]string, ps *Problems) (_ *BGPAdvertisement, heldBack bool) {
	set, ok := poolSet(KindBGPAdv, o.Name, o.Spec.IPAddressPools, o.Spec.IPAddressPoolSelectors, pools, ps)
	if !ok {
		return nil, false
	}
	nodes, err := selectors(o.Spec.NodeSelectors)
	if err != nil {
		ps.add(KindBGPAdv, o.Name, "nodeSelectors: %v", err)
		return nil, false
	}
	svcs, err := selectors(o.Spec.ServiceSelectors)
	if err != nil {
		ps.add(KindBGPAdv, o.Name, "serviceSelectors: %v", err)
		return nil, false
	}
	a := &BGPAdvertisement{
		Name: o.Name, Pools: set, NodeSelectors: nodes, Peers: o.Spec.Peers, ServiceSelectors: svcs,
		AggregationLength: 32, AggregationLengthV6: 128, LocalPref: o.Spec.LocalPref,
	}
	if o.Spec.AggregationLength != nil {
		a.AggregationLength = int(*o.Spec.AggregationLength)
	}
	if o.Spec.AggregationLengthV6 != nil {
		a.AggregationLengthV6 = int(*o.Spec.AggregationLengthV6)
	}
	if a.AggregationLength < 0 || a.AggregationLength > 32 || a.AggregationLengthV6 < 0 || a.AggregationLengthV6 > 128 {
		ps.add(KindBGPAdv, o.Name, "aggregation lengths must be 0-32 (IPv4) and 0-128 (IPv6)")
		return nil, false
	}
	// The CRD refuses this too; an object stored around it is refused
	// here, as in MetalLB: an aggregate serves many Services at once.
	if len(svcs) > 0 && (a.AggregationLength != 32 || a.AggregationLengthV6 != 128) {
		ps.add(KindBGPAdv, o.Name, "serviceSelectors can only be used with the default aggregationLength (32) and aggregationLengthV6 (128)")
		return nil, false
	}
	// An aggregate must never cover addresses the pools do not own, so
	// every range has to be whole blocks of the aggregation length. MetalLB
	// checks only the range's smallest CIDR and can announce a /24 for a
	// 10-address range; barelb refuses the advertisement instead.
	var names []string
	for n := range set {
		names = append(names, n)
	}
	sort.Strings(names)
	refused := false
	for _, n := range names {
		for _, r := range pools[n].Ranges {
			l := a.AggregationLength
			if r.Family() == addr.IPv6 {
				l = a.AggregationLengthV6
			}
			if msg := aggregationMisfit(r, l); msg != "" {
				ps.add(KindBGPAdv, o.Name, "IPAddressPool %q: %s; the advertisement is not used (its routes would cover addresses outside the pool)", n, msg)
				refused = true
			}
		}
	}
	for _, c := range o.Spec.Communities {
		v := string(c)
		if !strings.Contains(v, ":") {
			lit, ok := aliases[v]
			if !ok {
				// Applying it without the community would change the
				// routes silently; Config.KeepHeldBack lets the speaker
				// keep the previous version instead.
				ps.add(KindBGPAdv, o.Name, "community %q is not a literal and no Community object defines it; the advertisement is not applied (a speaker keeps its previous version, if any)", v)
				heldBack = true
				continue
			}
			v = lit
		} else if err := ValidateCommunity(v); err != nil {
			ps.add(KindBGPAdv, o.Name, "community %q: %v", v, err)
			continue
		}
		a.Communities = append(a.Communities, v)
	}
	if refused || heldBack {
		return nil, heldBack
	}
	return a, false
}

// aggregationMisfit says why range r cannot be announced aggregated to
// length l without covering addresses outside it, or "" when it can: both
// ends must fall on boundaries of /l blocks.
func aggregationMisfit(r addr.Range, l int) string {
	if l >= r.First.BitLen() {
		return ""
	}
	first := netip.PrefixFrom(r.First, l).Masked()
	last := netip.PrefixFrom(r.Last, l).Masked()
	if first.Addr() == r.First && addr.PrefixRange(last).Last == r.Last {
		return ""
	}
	if p, ok := r.Prefix(); ok {
		return fmt.Sprintf("aggregation length /%d is shorter than its range %s", l, p)
	}
	return fmt.Sprintf("range %s is not a whole number of /%d blocks (not one CIDR) and aggregation is set", r, l)
}

func buildCommunities(in []v1beta1.Community, ps *Problems) map[string]string {
	out := map[string]string{}
	from := map[string]string{}
	for _, c := range in {
		for _, a := range c.Spec.Communities {
			if err := ValidateCommunity(string(a.Value)); err != nil {
				ps.add(KindCommunty, c.Name, "alias %q: %v", a.Name, err)
				continue
			}
			if prev, dup := from[a.Name]; dup && prev != c.Name {
				ps.add(KindCommunty, c.Name, "alias %q is also defined in Community %q", a.Name, prev)
				continue
			}
			out[a.Name], from[a.Name] = string(a.Value), c.Name
		}
	}
	return out
}

func buildPeer(o *v1beta2.BGPPeer, bfdProfiles map[string]*v1beta1.BFDProfile, ps *Problems) *Peer {
	s := &o.Spec
	p := &Peer{Peer: bgpmodel.Peer{
		Name: o.Name, DynamicASN: bgpmodel.DynamicASN(s.DynamicASN), Port: s.Port,
		Password: s.Password, EBGPMultiHop: s.EBGPMultiHop,
		GracefulRestart: s.EnableGracefulRestart, DualStack: s.DualStackAddressFamily,
	}, PasswordSecret: s.PasswordSecret.Name}
	bad := false
	problem := func(format string, args ...any) {
		ps.add(KindPeer, o.Name, format, args...)
		bad = true
	}
	// The CRD keeps ASNs in 0-4294967295; an object stored around that
	// validation (an older CRD, a direct etcd write) is refused here.
	asn := func(field string, v int64) uint32 {
		if v < 0 || v > math.MaxUint32 {
			problem("%s %d is outside 0-4294967295", field, v)
			return 0
		}
		return uint32(v)
	}
	myASN, localASN := asn("myASN", s.MyASN), asn("localASN", s.LocalASN)
	p.MyASN, p.PeerASN = myASN, asn("peerASN", s.ASN)
	// FRR, which MetalLB drives, allows local-as on eBGP sessions only.
	if localASN != 0 && (s.DynamicASN == v1beta2.InternalASNMode || (p.PeerASN != 0 && p.PeerASN == myASN)) {
		problem("localASN %d: only an eBGP session can present another AS, and this one is iBGP (peer AS = myASN %d)", localASN, myASN)
	} else if localASN != 0 {
		// localASN stands in for myASN on this session only (FRR's
		// "local-as N no-prepend replace-as"): the peer sees, and the AS
		// path carries, only localASN.
		p.MyASN = localASN
	}
	parse := func(field, v string, dst *netip.Addr) {
		if v == "" {
			return
		}
		a, err := netip.ParseAddr(v)
		if err != nil {
			problem("%s %q is not an IP address", field, v)
			return
		}
		*dst = a
	}
	parse("peerAddress", s.Address, &p.Address)
	parse("sourceAddress", s.SrcAddress, &p.SourceAddress)
	parse("routerID", s.RouterID, &p.RouterID)
	switch {
	case s.Address != "" && s.Interface != "":
		problem("set exactly one of peerAddress and interface")
	case s.Interface != "":
		// Unnumbered: the peer is whoever is on the other end of this
		// node interface (its IPv6 link-local address), both families
		// over one session, as FRR's "neighbor <if> interface".
		p.Interface = s.Interface
		if s.SrcAddress != "" {
			problem("sourceAddress with interface %q: an unnumbered session uses the interface's link-local address", s.Interface)
		}
		if s.EBGPMultiHop {
			problem("ebgpMultiHop with interface %q: an unnumbered peer is on the link by definition", s.Interface)
		}
	case s.Address == "":
		problem("peerAddress or interface is required")
	case p.Address.IsValid() && p.Address.Zone() != "":
		problem("peerAddress %s: zoned (link-local) peers are not supported", p.Address)
	}
	if p.SourceAddress.IsValid() && p.Address.IsValid() && p.SourceAddress.Unmap().Is4() != p.Address.Unmap().Is4() {
		problem("sourceAddress %s and peerAddress %s are of different families", p.SourceAddress, p.Address)
	}
	if s.MyASN == 0 {
		problem("myASN is required")
	}
	if (s.ASN == 0) == (s.DynamicASN == "") {
		problem("set exactly one of peerASN and dynamicASN")
	}
	switch p.DynamicASN {
	case bgpmodel.DynamicASNNone, bgpmodel.DynamicASNInternal, bgpmodel.DynamicASNExternal:
	default:
		problem("dynamicASN %q is neither %q nor %q", s.DynamicASN, bgpmodel.DynamicASNInternal, bgpmodel.DynamicASNExternal)
	}
	// As MetalLB: multi-hop is an eBGP notion (iBGP never limits TTL), so
	// asking for it on an iBGP peer is a mistake worth refusing.
	if s.EBGPMultiHop && (s.DynamicASN == v1beta2.InternalASNMode || (s.ASN != 0 && s.ASN == s.MyASN)) {
		problem("ebgpMultiHop is set but the peer is iBGP (peer AS = myASN %d): multi-hop applies to eBGP only", s.MyASN)
	}
	dur := func(d *metav1.Duration) time.Duration {
		if d == nil {
			return 0
		}
		return d.Duration
	}
	p.HoldTime, p.KeepaliveTime, p.ConnectTime = dur(s.HoldTime), dur(s.KeepaliveTime), dur(s.ConnectTime)
	if s.HoldTime == nil && p.KeepaliveTime > 0 {
		p.HoldTime = 3 * p.KeepaliveTime // MetalLB's rule for keepaliveTime alone
	}
	if s.BFDProfile != "" {
		if b, ok := bfdProfiles[s.BFDProfile]; !ok {
			problem("bfdProfile %q: no BFDProfile of that name exists", s.BFDProfile)
		} else {
			p.BFD = peerBFD(b, problem, &p.Unsupported)
		}
	}
	if s.VRFName != "" {
		p.Unsupported = append(p.Unsupported, fmt.Sprintf("vrf %q: VRF peering is not supported by barelb's GoBGP speaker", s.VRFName))
	}
	for _, u := range p.Unsupported {
		ps.add(KindPeer, o.Name, "%s", u)
	}
	if s.DisableMP {
		// Reported, not refused: the session runs as if it were unset.
		ps.warn(KindPeer, o.Name, "disableMP has no effect (deprecated in MetalLB too): a session carries its own address family, and both only with dualStackAddressFamily")
	}
	var err error
	if p.NodeSelectors, err = selectors(s.NodeSelectors); err != nil {
		problem("nodeSelectors: %v", err)
	}
	if bad {
		return nil
	}
	return p
}

// peerBFD reads a BFDProfile into the model. Values outside the CRD's
// bounds (an object stored around its validation) are problems; echo
// mode, which the speaker cannot run, makes the peer unsupported.
func peerBFD(o *v1beta1.BFDProfile, problem func(string, ...any), unsupported *[]string) bgpmodel.BFDProfile {
	s := &o.Spec
	ms := func(v *uint32) time.Duration {
		if v == nil {
			return 0
		}
		return time.Duration(*v) * time.Millisecond
	}
	u8 := func(field string, v *uint32, lo, hi uint32) uint8 {
		switch {
		case v == nil:
			return 0
		case *v < lo || *v > hi:
			problem("bfdProfile %q: %s %d is outside %d-%d", o.Name, field, *v, lo, hi)
			return 0
		}
		return uint8(*v)
	}
	b := bgpmodel.BFDProfile{
		Name:             o.Name,
		ReceiveInterval:  ms(s.ReceiveInterval),
		TransmitInterval: ms(s.TransmitInterval),
		DetectMultiplier: u8("detectMultiplier", s.DetectMultiplier, 2, 255),
		MinimumTTL:       u8("minimumTtl", s.MinimumTTL, 1, 254),
		PassiveMode:      s.PassiveMode != nil && *s.PassiveMode,
	}
	for _, iv := range []struct {
		field string
		v     time.Duration
	}{{"receiveInterval", b.ReceiveInterval}, {"transmitInterval", b.TransmitInterval}} {
		if iv.v != 0 && (iv.v < bfd.MinInterval || iv.v > bfd.MaxInterval) {
			problem("bfdProfile %q: %s %v is outside %v-%v", o.Name, iv.field, iv.v, bfd.MinInterval, bfd.MaxInterval)
		}
	}
	// echoInterval alone changes nothing: it only matters with echoMode.
	if s.EchoMode != nil && *s.EchoMode {
		*unsupported = append(*unsupported, fmt.Sprintf("bfdProfile %q: BFD %s", o.Name, strings.TrimPrefix(bfd.ErrEcho.Error(), "bfd: ")))
	}
	return b
}

func selectors(in []metav1.LabelSelector) ([]labels.Selector, error) {
	out := make([]labels.Selector, 0, len(in))
	for i := range in {
		s, err := metav1.LabelSelectorAsSelector(&in[i])
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}
