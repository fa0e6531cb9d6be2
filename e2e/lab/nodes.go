package lab

import (
	"context"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

const (
	// leaseRenew is how often the lab renews each node's Lease, as a
	// kubelet does (its default is 10s against a 40s lease).
	leaseRenew    = 10 * time.Second
	leaseDuration = 40
	// statusRenew is how often the Ready condition's heartbeat is refreshed.
	statusRenew = time.Minute
)

// registerNodes creates the Node objects with their addresses, Pod CIDRs,
// labels and a Ready condition, the way a kubelet registers itself.
func (l *Lab) registerNodes(ctx context.Context) error {
	for _, n := range l.Nodes {
		node := &corev1.Node{
			ObjectMeta: metav1.ObjectMeta{
				Name: n.Name,
				Labels: map[string]string{
					"kubernetes.io/hostname": n.Name,
					"kubernetes.io/os":       "linux",
					"kubernetes.io/arch":     "amd64",
				},
			},
			Spec: corev1.NodeSpec{
				PodCIDR:  n.PodCIDRs[0].String(),
				PodCIDRs: []string{n.PodCIDRs[0].String(), n.PodCIDRs[1].String()},
			},
		}
		created, err := l.Client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			created, err = l.Client.CoreV1().Nodes().Get(ctx, n.Name, metav1.GetOptions{})
		}
		if err != nil {
			return err
		}
		if l.opts.RealNodes {
			// The kubelet registers against this object (its Pod CIDRs
			// are the lab's plan, which the node's CNI config uses) and
			// reports the status itself.
			continue
		}
		created.Status = l.nodeStatus(n, true)
		if _, err := l.Client.CoreV1().Nodes().UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
			return err
		}
	}
	return nil
}

// nodeStatus is a node's full status with a fresh heartbeat.
func (l *Lab) nodeStatus(n *Node, ready bool) corev1.NodeStatus {
	now := metav1.Now()
	cond := corev1.NodeCondition{
		Type: corev1.NodeReady, Status: corev1.ConditionTrue,
		Reason: "KubeletReady", Message: "barelb lab node is ready",
		LastHeartbeatTime: now, LastTransitionTime: now,
	}
	if !ready {
		cond.Status, cond.Reason, cond.Message = corev1.ConditionFalse, "LabNotReady", "marked not ready by the lab"
	}
	res := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("2"),
		corev1.ResourceMemory: resource.MustParse("4Gi"),
		corev1.ResourcePods:   resource.MustParse("110"),
	}
	return corev1.NodeStatus{
		Capacity:    res,
		Allocatable: res,
		Phase:       corev1.NodeRunning,
		Conditions:  []corev1.NodeCondition{cond},
		Addresses: []corev1.NodeAddress{
			{Type: corev1.NodeInternalIP, Address: n.IPv4.String()},
			{Type: corev1.NodeInternalIP, Address: n.IPv6.String()},
			{Type: corev1.NodeHostName, Address: n.Name},
		},
		NodeInfo: corev1.NodeSystemInfo{
			OperatingSystem: "linux", Architecture: "amd64",
			KubeletVersion: "barelb-lab",
		},
	}
}

// SetNodeReady flips a node's Ready condition (the lab keeps it Ready
// otherwise), for tests of how barelb treats NotReady nodes.
func (l *Lab) SetNodeReady(ctx context.Context, name string, ready bool) error {
	l.nodeMu.Lock()
	l.notReady[name] = !ready
	l.nodeMu.Unlock()
	return l.heartbeat(ctx, name)
}

func (l *Lab) heartbeat(ctx context.Context, name string) error {
	n := l.Node(name)
	if n == nil {
		return &apierrors.StatusError{ErrStatus: metav1.Status{Reason: metav1.StatusReasonNotFound, Message: "no lab node " + name}}
	}
	l.nodeMu.Lock()
	ready := !l.notReady[name]
	l.nodeMu.Unlock()
	node, err := l.Client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	st := l.nodeStatus(n, ready)
	// Keep the transition time unless the status really changed.
	for _, c := range node.Status.Conditions {
		if c.Type == corev1.NodeReady && c.Status == st.Conditions[0].Status {
			st.Conditions[0].LastTransitionTime = c.LastTransitionTime
		}
	}
	node.Status = st
	_, err = l.Client.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{})
	return err
}

// renewLease creates or renews the node's Lease in kube-node-lease.
func (l *Lab) renewLease(ctx context.Context, n *Node) error {
	leases := l.Client.CoordinationV1().Leases(corev1.NamespaceNodeLease)
	now := metav1.NewMicroTime(time.Now())
	lease, err := leases.Get(ctx, n.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		node, err := l.Client.CoreV1().Nodes().Get(ctx, n.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		_, err = leases.Create(ctx, &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{
				Name: n.Name,
				OwnerReferences: []metav1.OwnerReference{{
					APIVersion: "v1", Kind: "Node", Name: node.Name, UID: node.UID,
				}},
			},
			Spec: coordinationv1.LeaseSpec{
				HolderIdentity:       ptr.To(n.Name),
				LeaseDurationSeconds: ptr.To[int32](leaseDuration),
				RenewTime:            &now,
			},
		}, metav1.CreateOptions{})
		return err
	}
	if err != nil {
		return err
	}
	lease.Spec.RenewTime = &now
	_, err = leases.Update(ctx, lease, metav1.UpdateOptions{})
	return err
}

// keepNodesFresh renews leases and Ready heartbeats until ctx ends. Errors
// (the API server stopped by a test) are retried on the next tick.
func (l *Lab) keepNodesFresh(ctx context.Context) {
	lt := time.NewTicker(leaseRenew)
	defer lt.Stop()
	st := time.NewTicker(statusRenew)
	defer st.Stop()
	renew := func() {
		for _, n := range l.Nodes {
			_ = l.renewLease(ctx, n)
		}
	}
	renew()
	for {
		select {
		case <-ctx.Done():
			return
		case <-lt.C:
			renew()
		case <-st.C:
			for _, n := range l.Nodes {
				_ = l.heartbeat(ctx, n.Name)
			}
		}
	}
}
