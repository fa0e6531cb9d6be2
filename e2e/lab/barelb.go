package lab

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"os"
	"regexp"
	"sort"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Hooks for barelb's own binaries. The lab runs the controller once in the
// cp namespace (next to the API server, like a Deployment would run it
// somewhere in the cluster) and a speaker in every node namespace, where
// it sees the node's LAN interface and answers ARP/NDP on it. Both talk
// to the API server as their own service accounts (identity.go).

var varRE = regexp.MustCompile(`\$\(([A-Z_]+)\)`)

// expand replaces $(VAR) references with values from vars; unknown
// references are left as they are, as Kubernetes does for container args.
func expand(s string, vars map[string]string) string {
	return varRE.ReplaceAllStringFunc(s, func(m string) string {
		if v, ok := vars[varRE.FindStringSubmatch(m)[1]]; ok {
			return v
		}
		return m
	})
}

// programPresent reports whether p names an existing file.
func programPresent(p *Program) bool {
	if p == nil || p.Path == "" {
		return false
	}
	st, err := os.Stat(p.Path)
	return err == nil && !st.IsDir()
}

// programComponent turns p into a Component with vars expanded in its
// arguments and exported to its environment.
func (l *Lab) programComponent(name string, p *Program, vars map[string]string, nsName string) *Component {
	ns := l.CP
	if n := l.Node(nsName); n != nil {
		ns = n.NS
	}
	keys := make([]string, 0, len(vars))
	for k := range vars {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var env []string
	for _, k := range keys {
		env = append(env, k+"="+vars[k])
	}
	for _, e := range p.Env {
		env = append(env, expand(e, vars))
	}
	argv := []string{p.Path}
	for _, a := range p.Args {
		argv = append(argv, expand(a, vars))
	}
	return newComponent(name, ns, l.logDir, env, argv...)
}

// startBarelb starts the controller and the speakers that are configured
// and present, and records the ones skipped.
func (l *Lab) startBarelb(ctx context.Context) error {
	if programPresent(l.opts.Controller) {
		vars := map[string]string{"NAMESPACE": l.CP.Name, "KUBECONFIG": l.kubeconfigFor(ctx, "controller")}
		l.Controller = l.programComponent("barelb-controller", l.opts.Controller, vars, "")
		if err := l.Controller.Start(); err != nil {
			return err
		}
	} else {
		l.step("barelb controller: not started (no binary: %s)", programPath(l.opts.Controller))
	}
	if !programPresent(l.opts.Speaker) {
		l.step("barelb speakers: not started (no binary: %s)", programPath(l.opts.Speaker))
		return nil
	}
	if err := l.ensureMemberlistSecret(ctx); err != nil {
		return err
	}
	kubeconfig := l.kubeconfigFor(ctx, "speaker")
	for _, n := range l.Nodes {
		vars := map[string]string{
			"KUBECONFIG":     kubeconfig,
			"NODE_NAME":      n.Name,
			"NODE_IP":        n.IPv4.String(),
			"NODE_IPV6":      n.IPv6.String(),
			"NODE_INTERFACE": n.LANDev,
			"NODE_MGMT_IP":   n.Mgmt.String(),
			"NAMESPACE":      n.NS.Name,
		}
		n.Speaker = l.programComponent("barelb-speaker-"+n.Name, l.opts.Speaker, vars, n.Name)
		if err := n.Speaker.Start(); err != nil {
			return err
		}
	}
	return nil
}

func programPath(p *Program) string {
	if p == nil || p.Path == "" {
		return "none configured"
	}
	return p.Path + " missing"
}

// ensureMemberlistSecret creates the Secret a MetalLB install carries
// (metallb-system/memberlist, key "secretkey"), so the lab's speakers
// gossip encrypted, as in production, and read it under their own RBAC.
func (l *Lab) ensureMemberlistSecret(ctx context.Context) error {
	key := make([]byte, 96)
	if _, err := rand.Read(key); err != nil {
		return err
	}
	_, err := l.Client.CoreV1().Secrets(ConfigNamespace).Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "memberlist", Namespace: ConfigNamespace},
		Data:       map[string][]byte{"secretkey": []byte(base64.StdEncoding.EncodeToString(key))},
	}, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	return err
}
