package app

import (
	"context"
	"errors"
	"fmt"
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
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	crconfig "sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/barelb/barelb/api/v1beta1"
	"github.com/barelb/barelb/api/v1beta2"
	"github.com/barelb/barelb/internal/bgp"
	"github.com/barelb/barelb/internal/damping"
	"github.com/barelb/barelb/internal/kube"
	"github.com/barelb/barelb/internal/layer2"
	"github.com/barelb/barelb/internal/members"
)

// Run runs the speaker until ctx ends, then hands its addresses over: it
// leaves memberlist so the others take over at once, keeps answering for
// opts.Handover while their gratuitous bursts go out, and only then stops.
func Run(ctx context.Context, cfg *rest.Config, opts Options) error {
	if opts.NodeName == "" {
		return errors.New("--node-name is required")
	}
	if !opts.MemberlistDisabled && opts.MemberlistBindAddr == "" {
		return errors.New("--ml-bind-addr is required unless --disable-memberlist is set")
	}
	logger := log.Log.WithName("speaker").WithValues("node", opts.NodeName)
	ctx = log.IntoContext(ctx, logger)
	// Before any informer exists: see kube.DisableWatchList (a streaming
	// list waits a second on an API server whose cache for a kind is cold).
	kube.DisableWatchList()
	cfg = rest.CopyConfig(cfg)
	cfg.UserAgent = "barelb-speaker/" + opts.NodeName
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                 kube.Scheme(),
		Metrics:                metricsserver.Options{BindAddress: opts.MetricsAddr},
		HealthProbeBindAddress: opts.HealthAddr,
		Controller:             crconfig.Controller{SkipNameValidation: ptr.To(true)},
		Cache:                  cacheOptions(opts.Namespace),
	})
	if err != nil {
		return fmt.Errorf("creating manager: %w", err)
	}
	kick := make(chan event.GenericEvent, 1)
	trigger := func() {
		select {
		case kick <- event.GenericEvent{Object: &corev1.Node{}}:
		default: // a reconcile is already pending; it will see this change
		}
	}
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
	l2, err := layer2.New(logger.WithName("layer2"), crmetrics.Registry, layer2.Options{
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
	recorder := mgr.GetEventRecorder("barelb-speaker")
	statuses := newStatusSyncer()
	if err := mgr.Add(statuses); err != nil {
		return err
	}
	r := &layer2Reconciler{
		Client: mgr.GetClient(), api: mgr.GetAPIReader(), opts: opts, l2: l2, tell: kube.NewTeller(recorder),
		announced: kube.Register(nil, prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "metallb_speaker_announced",
			Help: "Addresses this speaker announces (1 per ip, node, protocol).",
		}, []string{"ip", "node", "protocol"})),
		submit: statuses.submit,
		state:  &speakerState{Client: mgr.GetClient(), api: mgr.GetAPIReader(), opts: opts},
	}
	var ml *members.Members
	if !opts.MemberlistDisabled {
		secret := readSecret(ctx, mgr.GetAPIReader(), opts)
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
		if err := mgr.Add(&joiner{c: mgr.GetClient(), ml: ml, opts: opts, first: first, nudge: rejoin}); err != nil {
			return err
		}
	}
	if err := r.SetupWithManager(mgr, kick); err != nil {
		return err
	}
	// BGP mode: GoBGP starts only once a BGPPeer selects this node.
	bgpR := NewBGPReconciler(mgr.GetClient(), mgr.GetAPIReader(), recorder, opts, func(routerID netip.Addr) (BGPServer, error) {
		return bgp.New(logger.WithName("bgp"), crmetrics.Registry, bgp.Options{RouterID: routerID})
	})
	bgpR.useState(r.state) // one ConfigurationState for both modes
	if err := mgr.Add(bgpR); err != nil {
		return err
	}
	if err := bgpR.SetupWithManager(mgr); err != nil {
		return err
	}
	if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return err
	}
	if err := mgr.AddReadyzCheck("ping", healthz.Ping); err != nil {
		return err
	}

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

	restart := &plannedRestart{api: mgr.GetAPIReader(), opts: opts, log: logger}
	go restart.start(ctx)

	err = mgr.Start(ctx)
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
	removeOwnStatuses(cfg, opts)
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
// ServiceBGPStatus objects once it no longer announces anything. The
// manager's cache has stopped by now, so a fresh direct client is used,
// with a short deadline: an unreachable API server must not hold up exit.
func removeOwnStatuses(cfg *rest.Config, opts Options) {
	c, err := client.New(cfg, client.Options{Scheme: kube.Scheme()})
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	own := []client.DeleteAllOfOption{client.InNamespace(opts.Namespace), client.MatchingLabels{LabelNode: opts.NodeName}}
	for _, o := range []client.Object{&v1beta1.ServiceL2Status{}, &v1beta1.ServiceBGPStatus{}} {
		if err := c.DeleteAllOf(ctx, o, own...); err != nil {
			log.Log.Error(err, "removing this node's status objects on exit", "kind", fmt.Sprintf("%T", o))
		}
	}
}

// readSecret returns the gossip key, or nil (unencrypted, with a warning)
// when the Secret does not exist.
func readSecret(ctx context.Context, c client.Reader, opts Options) []byte {
	var s corev1.Secret
	err := c.Get(ctx, client.ObjectKey{Namespace: opts.Namespace, Name: opts.MemberlistSecretName}, &s)
	if err != nil {
		if !apierrors.IsNotFound(err) {
			log.FromContext(ctx).Error(err, "reading memberlist secret; gossip will be unencrypted")
		} else {
			log.FromContext(ctx).Info("memberlist secret not found; gossip is unencrypted", "secret", opts.Namespace+"/"+opts.MemberlistSecretName)
		}
		return nil
	}
	key := s.Data[opts.MemberlistSecretKey]
	if len(key) == 0 {
		log.FromContext(ctx).Error(nil, "memberlist secret has no such key; gossip will be unencrypted", "secret", opts.Namespace+"/"+opts.MemberlistSecretName, "key", opts.MemberlistSecretKey)
		return nil
	}
	log.FromContext(ctx).Info("gossip is encrypted", "secret", opts.Namespace+"/"+opts.MemberlistSecretName, "key", opts.MemberlistSecretKey)
	return key
}

// joiner keeps memberlist joined to every node's speaker: nodes are the
// peer list (speakers run with host networking on each node's address).
type joiner struct {
	c    client.Client
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
		lg := log.FromContext(ctx).WithName("joiner")
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

// cacheOptions scopes the speaker's cache: barelb's kinds (and Secrets)
// in its namespace only. The keys are typed but the scope is per kind, so
// it also holds for the configuration kinds, which are read unstructured
// (kube.ListConfig).
func cacheOptions(namespace string) cache.Options {
	inNS := cache.ByObject{Namespaces: map[string]cache.Config{namespace: {}}}
	return cache.Options{
		DefaultTransform: kube.TrimForCache,
		ByObject: map[client.Object]cache.ByObject{
			&v1beta1.IPAddressPool{}: inNS, &v1beta1.L2Advertisement{}: inNS,
			&v1beta1.ServiceL2Status{}: inNS, &corev1.Secret{}: inNS,
			// BGP mode (bgp.go).
			&v1beta2.BGPPeer{}: inNS, &v1beta1.BGPAdvertisement{}: inNS, &v1beta1.Community{}: inNS,
			&v1beta1.BFDProfile{}: inNS, &v1beta1.ServiceBGPStatus{}: inNS,
		},
	}
}
