package lab

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/ptr"
)

// ReadyAnnotation on a Pod set to "false" makes the mini kubelet report the
// Pod not ready (its backend keeps running), so tests and people can drop
// an endpoint from a Service with `kubectl annotate`.
const ReadyAnnotation = "lab.barelb.io/ready"

// kubelet is the lab's stand-in for the scheduler and every node's kubelet:
// it binds unscheduled Pods to the least loaded matching node, runs each
// bound Pod as a sandbox, and reports Pod status (Running, Ready, podIPs)
// so the EndpointSlice controller publishes it. One worker: Pod start-up
// is a handful of ip(8) calls, and serial reconciles need no locking
// between Pods.
type kubelet struct {
	lab   *Lab
	queue workqueue.TypedRateLimitingInterface[string]
	pods  corelisters.PodLister
	nodes corelisters.NodeLister

	mu        sync.Mutex
	sandboxes map[string]*sandbox  // by namespace/name
	assumed   map[types.UID]string // Pods bound but not yet seen bound
	done      chan struct{}
}

func (l *Lab) startKubelet(ctx context.Context) error {
	k := &kubelet{
		lab:       l,
		queue:     workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[string]()),
		sandboxes: map[string]*sandbox{},
		assumed:   map[types.UID]string{},
		done:      make(chan struct{}),
	}
	l.kubelet = k
	f := informers.NewSharedInformerFactory(l.Client, 0)
	podInf := f.Core().V1().Pods()
	k.pods = podInf.Lister()
	k.nodes = f.Core().V1().Nodes().Lister()
	enqueue := func(obj any) {
		if key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj); err == nil {
			k.queue.Add(key)
		}
	}
	if _, err := podInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    enqueue,
		UpdateFunc: func(_, obj any) { enqueue(obj) },
		DeleteFunc: enqueue,
	}); err != nil {
		return err
	}
	f.Start(ctx.Done())
	for typ, ok := range f.WaitForCacheSync(ctx.Done()) {
		if !ok {
			return fmt.Errorf("kubelet: %v informer did not sync", typ)
		}
	}
	go func() {
		defer close(k.done)
		for k.processNext(ctx) {
		}
	}()
	go func() {
		<-ctx.Done()
		k.queue.ShutDown()
	}()
	return nil
}

func (k *kubelet) enqueue(key string) {
	if k != nil {
		k.queue.Add(key)
	}
}

func (k *kubelet) processNext(ctx context.Context) bool {
	key, quit := k.queue.Get()
	if quit {
		return false
	}
	defer k.queue.Done(key)
	if err := k.reconcile(ctx, key); err != nil {
		if ctx.Err() == nil {
			fmt.Fprintf(k.lab.opts.Log, "lab: kubelet: %s: %v (retrying)\n", key, err)
		}
		k.queue.AddRateLimited(key)
		return true
	}
	k.queue.Forget(key)
	return true
}

// reconcile brings one Pod's sandbox and status in line with the Pod.
func (k *kubelet) reconcile(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	pod, err := k.pods.Pods(ns).Get(name)
	if apierrors.IsNotFound(err) {
		k.removeSandbox(key, "")
		return nil
	}
	if err != nil {
		return err
	}
	k.mu.Lock()
	sb := k.sandboxes[key]
	k.mu.Unlock()
	if sb != nil && sb.uid != pod.UID {
		// Same name, new Pod: the old one is gone.
		k.removeSandbox(key, "")
		sb = nil
	}
	switch {
	case pod.Spec.NodeName == "":
		if pod.DeletionTimestamp != nil {
			return nil
		}
		return k.schedule(ctx, pod)
	case k.lab.Node(pod.Spec.NodeName) == nil:
		return nil // bound to a node this lab does not run
	case pod.DeletionTimestamp != nil:
		// The kubelet's part of graceful deletion: stop the Pod, then
		// remove the object for good.
		k.removeSandbox(key, pod.UID)
		err := k.lab.Client.CoreV1().Pods(ns).Delete(ctx, name, metav1.DeleteOptions{
			GracePeriodSeconds: ptr.To[int64](0),
			Preconditions:      &metav1.Preconditions{UID: &pod.UID},
		})
		if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
			return nil
		}
		return err
	case pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed:
		k.removeSandbox(key, pod.UID)
		return nil
	}
	k.mu.Lock()
	delete(k.assumed, pod.UID)
	k.mu.Unlock()
	if sb == nil {
		node := k.lab.Node(pod.Spec.NodeName)
		sb, err = k.lab.createSandbox(ctx, pod, node)
		if err != nil {
			return err
		}
		k.mu.Lock()
		k.sandboxes[key] = sb
		k.mu.Unlock()
	} else if !sb.alive() {
		// The backend died: restart it in place, like a container restart.
		sb.restarts++
		if err := k.lab.startBackend(sb, pod); err != nil {
			return err
		}
		if err := k.lab.waitBackend(ctx, sb); err != nil {
			return err
		}
	}
	return k.writeStatus(ctx, pod, sb)
}

func (sb *sandbox) alive() bool {
	select {
	case <-sb.proc.Done():
		return false
	default:
		return true
	}
}

func (k *kubelet) removeSandbox(key string, uid types.UID) {
	k.mu.Lock()
	sb := k.sandboxes[key]
	if sb != nil && (uid == "" || sb.uid == uid) {
		delete(k.sandboxes, key)
	} else {
		sb = nil
	}
	k.mu.Unlock()
	if sb != nil {
		k.lab.destroySandbox(sb)
	}
}

// schedule binds pod to the matching node with the fewest Pods: the seed's
// three replicas land one per node.
func (k *kubelet) schedule(ctx context.Context, pod *corev1.Pod) error {
	load := map[string]int{}
	all, err := k.pods.List(labels.Everything())
	if err != nil {
		return err
	}
	k.mu.Lock()
	counted := map[types.UID]bool{}
	for _, p := range all {
		if p.Spec.NodeName != "" && p.DeletionTimestamp == nil &&
			p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed {
			load[p.Spec.NodeName]++
			counted[p.UID] = true
		}
	}
	for uid, n := range k.assumed {
		if !counted[uid] {
			load[n]++
		}
	}
	k.mu.Unlock()
	var fits []*Node
	for _, n := range k.lab.Nodes {
		obj, err := k.nodes.Get(n.Name)
		if err != nil || obj.Spec.Unschedulable || !nodeReady(obj) {
			continue
		}
		if labels.SelectorFromSet(pod.Spec.NodeSelector).Matches(labels.Set(obj.Labels)) {
			fits = append(fits, n)
		}
	}
	if len(fits) == 0 {
		return k.markUnschedulable(ctx, pod)
	}
	sort.SliceStable(fits, func(i, j int) bool { return load[fits[i].Name] < load[fits[j].Name] })
	target := fits[0]
	err = k.lab.Client.CoreV1().Pods(pod.Namespace).Bind(ctx, &corev1.Binding{
		ObjectMeta: metav1.ObjectMeta{Name: pod.Name, UID: pod.UID},
		Target:     corev1.ObjectReference{Kind: "Node", Name: target.Name},
	}, metav1.CreateOptions{})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil // deleted or already bound meanwhile
	}
	if err != nil {
		return err
	}
	k.mu.Lock()
	k.assumed[pod.UID] = target.Name
	k.mu.Unlock()
	return nil
}

func nodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// markUnschedulable records why the Pod waits, as the scheduler would, and
// retries later (a node may be uncordoned or relabelled).
func (k *kubelet) markUnschedulable(ctx context.Context, pod *corev1.Pod) error {
	cond := corev1.PodCondition{
		Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonUnschedulable,
		Message: "lab: no ready, schedulable node matches the Pod's nodeSelector",
	}
	for _, c := range pod.Status.Conditions {
		if c.Type == cond.Type && c.Status == cond.Status && c.Reason == cond.Reason {
			k.queue.AddAfter(pod.Namespace+"/"+pod.Name, 5*time.Second)
			return nil
		}
	}
	cond.LastTransitionTime = metav1.Now()
	patch, _ := json.Marshal(map[string]any{"status": map[string]any{"conditions": []corev1.PodCondition{cond}}})
	_, err := k.lab.Client.CoreV1().Pods(pod.Namespace).Patch(ctx, pod.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "status")
	k.queue.AddAfter(pod.Namespace+"/"+pod.Name, 5*time.Second)
	return err
}

// writeStatus reports the sandbox as the Pod's status, writing only when
// something other than timestamps changed.
func (k *kubelet) writeStatus(ctx context.Context, pod *corev1.Pod, sb *sandbox) error {
	want := desiredStatus(pod, sb)
	if equality.Semantic.DeepEqual(pod.Status, want) {
		return nil
	}
	p := pod.DeepCopy()
	p.Status = want
	_, err := k.lab.Client.CoreV1().Pods(p.Namespace).UpdateStatus(ctx, p, metav1.UpdateOptions{})
	if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
		return nil // a newer version is queued already
	}
	return err
}

// desiredStatus is the status a kubelet would report for a running Pod.
// Transition times are carried over from the current status when the
// condition did not change, so an unchanged Pod compares equal.
func desiredStatus(pod *corev1.Pod, sb *sandbox) corev1.PodStatus {
	ready := pod.Annotations[ReadyAnnotation] != "false" && sb.alive()
	started := metav1.NewTime(sb.started.Truncate(time.Second))
	cs := func(t corev1.PodConditionType, ok bool) corev1.PodCondition {
		c := corev1.PodCondition{Type: t, Status: corev1.ConditionFalse, LastTransitionTime: metav1.Now()}
		if ok {
			c.Status = corev1.ConditionTrue
		}
		for _, old := range pod.Status.Conditions {
			if old.Type == t && old.Status == c.Status {
				c.LastTransitionTime = old.LastTransitionTime
			}
		}
		return c
	}
	st := corev1.PodStatus{
		Phase: corev1.PodRunning,
		Conditions: []corev1.PodCondition{
			cs(corev1.PodReadyToStartContainers, true),
			cs(corev1.PodInitialized, true),
			cs(corev1.PodReady, ready),
			cs(corev1.ContainersReady, ready),
			cs(corev1.PodScheduled, true),
		},
		HostIP:    sb.node.IPv4.String(),
		HostIPs:   []corev1.HostIP{{IP: sb.node.IPv4.String()}, {IP: sb.node.IPv6.String()}},
		PodIP:     sb.v4.String(),
		PodIPs:    []corev1.PodIP{{IP: sb.v4.String()}, {IP: sb.v6.String()}},
		StartTime: pod.Status.StartTime,
		QOSClass:  corev1.PodQOSBestEffort,
	}
	if st.StartTime == nil {
		st.StartTime = &started
	}
	for _, c := range pod.Spec.InitContainers {
		st.InitContainerStatuses = append(st.InitContainerStatuses, corev1.ContainerStatus{
			Name: c.Name, Image: c.Image, ImageID: "barelb-lab://none", Ready: true,
			ContainerID: "barelb-lab://" + string(pod.UID) + "/" + c.Name,
			State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
				ExitCode: 0, Reason: "Completed", StartedAt: started, FinishedAt: started,
				ContainerID: "barelb-lab://" + string(pod.UID) + "/" + c.Name,
			}},
		})
	}
	for _, c := range pod.Spec.Containers {
		st.ContainerStatuses = append(st.ContainerStatuses, corev1.ContainerStatus{
			Name: c.Name, Image: c.Image, ImageID: "barelb-lab://backend",
			ContainerID:  fmt.Sprintf("barelb-lab://%d", sb.proc.Cmd.Process.Pid),
			Ready:        ready,
			Started:      ptr.To(true),
			RestartCount: sb.restarts,
			State:        corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: started}},
		})
	}
	return st
}

// stop waits for the worker to finish and tears down every sandbox.
func (k *kubelet) stop() {
	k.queue.ShutDown()
	<-k.done
	k.mu.Lock()
	sbs := k.sandboxes
	k.sandboxes = map[string]*sandbox{}
	k.mu.Unlock()
	var wg sync.WaitGroup
	for _, sb := range sbs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k.lab.destroySandbox(sb)
		}()
	}
	wg.Wait()
}

// SetPodReady sets or clears the Pod's ReadyAnnotation; the mini kubelet
// then reports the Pod (not) ready and the EndpointSlice follows.
func (l *Lab) SetPodReady(ctx context.Context, namespace, name string, ready bool) error {
	val := any(nil)
	if !ready {
		val = "false"
	}
	patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]any{ReadyAnnotation: val}}})
	_, err := l.Client.CoreV1().Pods(namespace).Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{})
	return err
}
