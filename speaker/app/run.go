package app

import (
	"context"
	"errors"
	"fmt"
	"github.com/barelb/barelb/internal/config"
	"github.com/barelb/barelb/internal/kclient"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/types"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/rest"

	"github.com/barelb/barelb/api/v1beta1"
	"github.com/barelb/barelb/internal/bgpmodel"
	"github.com/barelb/barelb/internal/bgpproc"
	"github.com/barelb/barelb/internal/damping"
	"github.com/barelb/barelb/internal/kube"
	"github.com/barelb/barelb/internal/layer2"
	"github.com/barelb/barelb/internal/logsetup"
	"github.com/barelb/barelb/internal/members"
)

// Run runs the speaker until ctx ends, then hands its addresses over: it
// leaves memberlist so the others take over at once, keeps answering for
// opts.Handover while their gratuitous bursts go out, and only then stops.
func Run(ctx context.Context, cfg *rest.Config, opts Options, logger logr.Logger) error {
	if opts.NodeName == "" {
		return errors.New("--node-name is required")
	}
	if !opts.MemberlistDisabled && opts.MemberlistBindAddr == "" {
		return errors.New("--ml-bind-addr is required unless --disable-memberlist is set")
	}
	logger = logger.WithName("speaker").WithValues("node", opts.NodeName)
	ctx = logr.NewContext(ctx, logger)
	// Before any informer exists: see kube.DisableWatchList (a streaming
	// list waits a second on an API server whose cache for a kind is cold).
	kube.DisableWatchList()
	cfg = rest.CopyConfig(cfg)
	cfg.UserAgent = "barelb-speaker/" + opts.NodeName
	direct, err := kclient.NewDirect(cfg)
	if err != nil {
		return fmt.Errorf("creating the Kubernetes client: %w", err)
	}
	reg := newRegistry()
	var lp loops
	c, err := newCache(direct, opts, &lp)
	if err != nil {
		return err
	}
	trigger := func() { lp.l2.Kick() }
	ignore, err := ignoreFunc(opts.IgnoreInterfaces)
	if err != nil {
		return err
	}
	// links is signalled when the announcer's link states change; the
	// publisher below gossips the latest ones (SetMeta waits for the
	// broadcast, which OnChange must not).
	links := make(chan struct{}, 1)
	// membership is signalled on memberlist changes, for the same
	// publisher (being alone makes this node settle, see damping).
	membership := make(chan struct{}, 1)
	// rejoin asks the joiner to look for the other speakers at once (an
	// interface of this node came up: see cutOff).
	rejoin := make(chan struct{}, 1)
	// Damped fail-back starts at start-up: a restarted node takes its
	// addresses back only once it has been stable for the delay.
	settle := damping.Tracker{Delay: opts.FailbackDelay}
	settle.Kick(time.Now())
	if resumed, err := takeWord(opts.StateDir, opts.NodeName, time.Now()); err != nil {
		logger.Error(err, "reading the word a replaced speaker left; settling as after any start")
	} else if resumed {
		logger.Info("taking over from the speaker this one replaced: its addresses stay on this node, no settling")
		settle.Resume()
	}
	detect := opts.ConflictDetection && !opts.MemberlistDisabled
	if opts.ConflictDetection && !detect {
		logger.Info("address conflict detection is off: without memberlist the speakers do not know each other's MACs, and every handover would look like a conflict")
	}
	l2, err := layer2.New(logger.WithName("layer2"), reg, layer2.Options{
		Ignore: ignore,
		OnChange: func(c layer2.Change) {
			if c.Links {
				select {
				case links <- struct{}{}:
				default:
				}
			}
			trigger()
		},
		Conflicts: layer2.ConflictOptions{
			Enabled: detect, Interval: opts.ConflictProbeInterval, Wait: opts.ConflictProbeWait,
			OnChange: func([]layer2.Conflict) { trigger() },
		},
	})
	if err != nil {
		return err
	}
	recorder := kclient.NewRecorder(direct, logger.WithName("events"), "barelb-speaker")
	statuses := newStatusSyncer()
	// Run below starts these once the cache has synced, and waits for
	// them when ctx ends.
	runnables := []func(context.Context){
		recorder.Run, func(ctx context.Context) { _ = statuses.Start(ctx) },
	}
	r := &layer2Reconciler{
		Client: c, api: direct, opts: opts, l2: l2, tell: kube.NewTeller(recorder),
		announced: kube.Register(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "metallb_speaker_announced",
			Help: "Addresses this speaker announces (1 per ip, node, protocol).",
		}, []string{"ip", "node", "protocol"})),
		submit: statuses.submit,
		state:  &speakerState{Client: c, api: direct, opts: opts},
	}
	var ml *members.Members
	if !opts.MemberlistDisabled {
		secret := readSecret(ctx, direct, opts)
		// OnMeta may run before New returns (this node's own metadata).
		var started atomic.Pointer[members.Members]
		if ml, err = members.New(members.Options{
			NodeName: opts.NodeName, BindAddr: opts.MemberlistBindAddr, BindPort: opts.MemberlistPort, Secret: secret,
			ProbeInterval: opts.ProbeInterval, ProbeTimeout: opts.ProbeTimeout, SuspicionMult: opts.SuspicionMult,
			OnChange: func() {
				trigger()
				select {
				case membership <- struct{}{}:
				default:
				}
			},
			Log: logger.WithName("memberlist"),
			OnJoin: func(name string) {
				if name != opts.NodeName {
					r.rejoined.Store(true)
				}
			},
			// Empty until the announcer's first scan; see carriersFrom.
			Meta: func() members.NodeMeta {
				m := nodeMeta(l2.LinkStates())
				m.Settling = settle.Settling(time.Now())
				return m
			}(),
			OnMeta: func(string) {
				if m := started.Load(); m != nil {
					l2.SetSpeakerMACs(m.SpeakerMACs())
				}
				trigger()
			},
		}); err != nil {
			return err
		}
		started.Store(ml)
		r.alive, r.view = ml.Alive, ml.States
		r.metas, r.ignore = ml.Meta, ignore
		// Conflict detection must know the other speakers before this one
		// announces anything, or the old owner answering during a
		// takeover is taken for a foreign host: the first join (which
		// pulls every contacted member's metadata) comes first.
		joined := make(chan struct{})
		r.joined = joined
		first := func() {
			l2.SetSpeakerMACs(ml.SpeakerMACs())
			close(joined)
		}
		r.cutOff = &cutOff{}
		j := &joiner{c: c, ml: ml, opts: opts, first: first, nudge: rejoin}
		runnables = append(runnables, func(ctx context.Context) { _ = j.Start(ctx) })
	}
	// BGP mode: GoBGP starts only once a BGPPeer selects this node.
	// It runs in a process of its own (internal/bgpproc), so a layer 2
	// speaker never pages in GoBGP.
	bgpProc := bgpproc.New(bgpproc.Config{Path: opts.BGPBinary, Args: append(logsetup.InUse(), "--node="+opts.NodeName),
		Log: logger.WithName("bgp"), OnExit: func() { lp.bgp.Kick() }})
	bgpR := NewBGPReconciler(c, direct, recorder, opts, func(routerID netip.Addr) (BGPServer, error) {
		if err := bgpProc.Start(bgpmodel.Options{RouterID: routerID}); err != nil {
			return nil, err
		}
		return bgpProc, nil
	})
	bgpR.useState(r.state) // one ConfigurationState for both modes
	runnables = append(runnables, func(ctx context.Context) { _ = bgpR.Start(ctx) })
	lp.l2 = kclient.NewLoop("layer2", logger, r.Reconcile)
	lp.bgp = kclient.NewLoop("bgp", logger, bgpR.Reconcile)
	runnables = append(runnables, lp.l2.Run, lp.bgp.Run)

	// The announcer outlives the manager: it must keep answering while
	// the speaker hands over.
	l2ctx, stopL2 := context.WithCancel(context.Background())
	l2done := make(chan error, 1)
	go func() { l2done <- l2.Run(l2ctx) }()
	defer func() { stopL2(); <-l2done }()
	if ml != nil {
		p := &metaPublisher{ml: ml, l2: l2, log: logger, settle: settle, links: links, membership: membership,
			cutOff: r.cutOff, rejoin: rejoin, trigger: trigger}
		go p.run(l2ctx)
	}

	restart := &plannedRestart{api: direct, opts: opts, log: logger}
	go restart.start(ctx)

	err = serve(ctx, logger, opts, prometheus.Gatherers{reg, bgpProc}, c, r.joined, runnables)
	r.leaving.Store(true)
	l2.Quiet()
	planned, why := false, ""
	if ml != nil {
		planned, why = restart.planned(context.Background())
	}
	// BGP mode: withdraw routes (or leave them to graceful restart) before
	// the layer 2 handover, which only sleeps.
	bctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	if berr := bgpR.Shutdown(bctx); berr != nil {
		logger.Error(berr, "shutting down BGP")
	}
	cancel()
	if planned {
		planned = restartInPlace(logger, ml, opts, why)
		if planned {
			// The addresses stay on this node: so do their status objects.
			return err
		}
	}
	if ml != nil {
		logger.Info("leaving memberlist to hand over", "handover", opts.Handover)
		if lerr := ml.Leave(time.Second); lerr != nil {
			logger.Error(lerr, "leaving memberlist")
		}
		// Deliberate grace period, not synchronisation: the new owners'
		// gratuitous bursts go out during it while this node still answers.
		time.Sleep(opts.Handover)
	}
	removeOwnStatuses(logger, direct, opts)
	return err
}

// restartInPlace is a planned restart's exit (see restart.go): word for
// the successor, notice to the others, leave. It reports false, having
// done nothing the usual handover must undo, when the word cannot be left
// or no other speaker could be told while some are alive.
func restartInPlace(logger logr.Logger, ml *members.Members, opts Options, why string) bool {
	if err := leaveWord(opts.StateDir, opts.NodeName, time.Now().Add(opts.RestartHold)); err != nil {
		logger.Error(err, "leaving word for this speaker's successor; handing over as usual")
		return false
	}
	others := len(ml.Alive()) - 1
	told, err := ml.AnnounceRestart(opts.RestartHold, 2*time.Second)
	if told == 0 && others > 0 {
		logger.Error(err, "no other speaker heard of this planned restart; handing over as usual")
		_ = os.Remove(restartMarker(opts.StateDir, opts.NodeName)) // the successor settles after all
		return false
	}
	logger.Info("planned restart: this node keeps its addresses for the speaker replacing this one", "why", why,
		"hold", opts.RestartHold, "told", told, "of", others, "error", err)
	if lerr := ml.Leave(time.Second); lerr != nil {
		logger.Error(lerr, "leaving memberlist")
	}
	return true
}

// removeOwnStatuses deletes this node's ServiceL2Status and
// ServiceBGPStatus objects once it no longer announces anything, with a
// short deadline: an unreachable API server must not hold up exit.
func removeOwnStatuses(logger logr.Logger, c kclient.Writer, opts Options) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	own := []kclient.ListOption{kclient.InNamespace(opts.Namespace), kclient.MatchingLabels(map[string]string{LabelNode: opts.NodeName})}
	for _, o := range []kclient.Object{&v1beta1.ServiceL2Status{}, &v1beta1.ServiceBGPStatus{}} {
		if err := c.DeleteAllOf(ctx, o, own...); err != nil {
			logger.Error(err, "removing this node's status objects on exit", "kind", fmt.Sprintf("%T", o))
		}
	}
}

// readSecret returns the gossip key, or nil (unencrypted, with a warning)
// when the Secret does not exist.
func readSecret(ctx context.Context, c kclient.Reader, opts Options) []byte {
	var s corev1.Secret
	err := c.Get(ctx, types.NamespacedName{Namespace: opts.Namespace, Name: opts.MemberlistSecretName}, &s)
	if err != nil {
		if !apierrors.IsNotFound(err) {
			logr.FromContextOrDiscard(ctx).Error(err, "reading memberlist secret; gossip will be unencrypted")
		} else {
			logr.FromContextOrDiscard(ctx).Info("memberlist secret not found; gossip is unencrypted", "secret", opts.Namespace+"/"+opts.MemberlistSecretName)
		}
		return nil
	}
	key := s.Data[opts.MemberlistSecretKey]
	if len(key) == 0 {
		logr.FromContextOrDiscard(ctx).Error(nil, "memberlist secret has no such key; gossip will be unencrypted", "secret", opts.Namespace+"/"+opts.MemberlistSecretName, "key", opts.MemberlistSecretKey)
		return nil
	}
	logr.FromContextOrDiscard(ctx).Info("gossip is encrypted", "secret", opts.Namespace+"/"+opts.MemberlistSecretName, "key", opts.MemberlistSecretKey)
	return key
}

// joiner keeps memberlist joined to every node's speaker: nodes are the
// peer list (speakers run with host networking on each node's address).
type joiner struct {
	c    kclient.Reader
	ml   *members.Members
	opts Options
	// first, if set, runs once after the first join attempt.
	first func()
	// nudge, if set, starts a join round before the next tick.
	nudge <-chan struct{}
}

func (j *joiner) Start(ctx context.Context) error {
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	for {
		j.joinMissing(ctx)
		if j.first != nil {
			j.first()
			j.first = nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-j.nudge:
		}
	}
}

func (j *joiner) joinMissing(ctx context.Context) {
	var nodes corev1.NodeList
	if err := j.c.List(ctx, &nodes); err != nil {
		return
	}
	alive := j.ml.Alive()
	var addrs []string
	missing := false
	for _, n := range nodes.Items {
		if n.Name == j.opts.NodeName || alive[n.Name] {
			continue
		}
		missing = true
		for _, a := range n.Status.Addresses {
			if a.Type == corev1.NodeInternalIP {
				addrs = append(addrs, net.JoinHostPort(a.Address, strconv.Itoa(j.opts.MemberlistPort)))
				break
			}
		}
	}
	if missing {
		for _, a := range splitList(j.opts.MemberlistJoin) {
			if host, _, err := net.SplitHostPort(a); err != nil || host != j.opts.MemberlistBindAddr {
				addrs = append(addrs, a)
			}
		}
	}
	if len(addrs) > 0 {
		n, err := j.ml.Join(addrs)
		lg := logr.FromContextOrDiscard(ctx).WithName("joiner")
		if err != nil {
			lg.V(1).Info("joining missing members", "addrs", addrs, "contacted", n, "error", err.Error())
		} else {
			lg.V(1).Info("joined missing members", "addrs", addrs, "contacted", n)
		}
	}
}

// splitList splits a comma-separated flag value, dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, x := range strings.Split(s, ",") {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}

// speakerWatches are the kinds the speaker's cache holds: Nodes,
// Services and EndpointSlices cluster-wide; barelb's kinds and Secrets
// in its namespace only. The configuration kinds are held unstructured,
// as kube.ListConfig reads them (and so must every other read of them).
func speakerWatches(namespace string) []kclient.Watch {
	w := []kclient.Watch{{Object: &corev1.Node{}}, {Object: &corev1.Service{}}, {Object: &discoveryv1.EndpointSlice{}}}
	for _, o := range []kclient.Object{&corev1.Secret{}, &v1beta1.ServiceL2Status{}, &v1beta1.ServiceBGPStatus{}} {
		w = append(w, kclient.Watch{Object: o, Namespace: namespace})
	}
	for _, gvk := range kube.ConfigKinds {
		w = append(w, kclient.Watch{Object: kube.ConfigObject(gvk.Kind), Namespace: namespace})
	}
	return w
}

// loops are the speaker's two passes, which its cache's changes kick.
type loops struct{ l2, bgp *kclient.Loop }

// newCache is the speaker's cache, kicking l's loops on every change
// (see kicks); l's loops may be set after it, before it starts.
func newCache(direct *kclient.Direct, opts Options, l *loops) (*kclient.Cached, error) {
	return kclient.NewCached(direct, speakerWatches(opts.Namespace), trimForSpeaker, func(o kclient.Object) {
		l2, bgp := kicks(o, opts.NodeName)
		if l2 {
			l.l2.Kick()
		}
		if bgp {
			l.bgp.Kick()
		}
	})
}

// kicks says which passes a change of o asks for: layer 2, BGP or both.
// Each pass reads everything it needs, so only the kind matters, but for
// the status objects: only this node's own, since the cache can lag
// behind its own writes and a stale entry (one another node deleted, say)
// would otherwise stand until some unrelated change. Unchanged statuses
// cost no write, so a node's own updates settle after one extra pass.
func kicks(o kclient.Object, node string) (l2, bgp bool) {
	switch o.(type) {
	case *corev1.Service, *discoveryv1.EndpointSlice, *corev1.Node:
		return true, true
	case *corev1.Secret:
		return false, true // BGP passwords
	case *v1beta1.ServiceL2Status:
		return o.GetLabels()[LabelNode] == node, false
	case *v1beta1.ServiceBGPStatus:
		return false, o.GetLabels()[LabelNode] == node
	}
	switch o.GetObjectKind().GroupVersionKind().Kind {
	case config.KindPool:
		return true, true
	case config.KindL2Adv:
		return true, false
	case config.KindPeer, config.KindBGPAdv, config.KindCommunty, config.KindBFD:
		return false, true
	}
	return false, false
}
