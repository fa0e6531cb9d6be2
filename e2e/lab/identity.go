package lab

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// barelb's components run in the lab as the service accounts that
// config/rbac/bindings names, not as cluster admin, so every test on the
// lab also proves that the roles controller-gen writes from the code's
// markers grant what the code does. The API server takes a client
// certificate's CN as the user name and its O fields as groups; a CN of
// system:serviceaccount:<ns>:<name> is that service account to RBAC,
// exactly as its token would be.
var componentAccounts = map[string]string{"controller": "controller", "speaker": "speaker"}

// issueComponentKubeconfigs writes one kubeconfig per barelb component
// with a certificate for its service account in ConfigNamespace.
func (l *Lab) issueComponentKubeconfigs(pk *pki, server string) error {
	l.componentKubeconfig = map[string]string{}
	for component, sa := range componentAccounts {
		user := fmt.Sprintf("system:serviceaccount:%s:%s", ConfigNamespace, sa)
		groups := []string{"system:serviceaccounts", "system:serviceaccounts:" + ConfigNamespace}
		pair, err := pk.issue("barelb-"+component, user, groups, nil, nil, false)
		if err != nil {
			return err
		}
		path := filepath.Join(l.StateDir, "barelb-"+component+".kubeconfig")
		if err := writeKubeconfig(path, server, pk.CAPEM, pair); err != nil {
			return err
		}
		l.componentKubeconfig[component] = path
	}
	return nil
}

// kubeconfigFor is the kubeconfig component runs with: its service
// account's when the manifests created that account, else the admin one
// with a warning, since nothing would then grant the account anything.
func (l *Lab) kubeconfigFor(ctx context.Context, component string) string {
	sa := componentAccounts[component]
	_, err := l.Client.CoreV1().ServiceAccounts(ConfigNamespace).Get(ctx, sa, metav1.GetOptions{})
	if err == nil && l.componentKubeconfig[component] != "" {
		if err := l.waitAuthorized(ctx, sa); err != nil {
			w := fmt.Sprintf("barelb %s: %v", component, err)
			l.Warnings = append(l.Warnings, w)
			l.step("WARNING: %s", w)
		}
		l.step("barelb %s runs as service account %s/%s", component, ConfigNamespace, sa)
		return l.componentKubeconfig[component]
	}
	why := fmt.Sprint(err)
	if apierrors.IsNotFound(err) {
		why = "the manifests did not create it (config/rbac/bindings)"
	}
	w := fmt.Sprintf("barelb %s runs as cluster admin: no service account %s/%s: %s", component, ConfigNamespace, sa, why)
	l.Warnings = append(l.Warnings, w)
	l.step("WARNING: %s", w)
	return l.Kubeconfig
}

// Forbidden returns the lines of barelb's component logs where the API
// server refused a request: a role that lacks a verb the code uses. The
// components retry and log such errors rather than exit, so a test that
// passes could otherwise hide one.
func (l *Lab) Forbidden() []string {
	var comps []*Component
	if l.Controller != nil {
		comps = append(comps, l.Controller)
	}
	for _, n := range l.Nodes {
		if n.Speaker != nil {
			comps = append(comps, n.Speaker)
		}
	}
	var out []string
	for _, c := range comps {
		b, err := os.ReadFile(c.Log)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			if strings.Contains(line, "is forbidden") || strings.Contains(line, `"reason":"Forbidden"`) {
				out = append(out, c.Name+": "+clip(line, 1, 400))
			}
		}
	}
	return out
}

// waitAuthorized waits until the API server's authorizer, which learns
// of new bindings through its own informers, lets the service account
// read pools and Secrets in ConfigNamespace, so the component's first
// requests are not refused only because the bindings were just applied.
func (l *Lab) waitAuthorized(ctx context.Context, sa string) error {
	checks := []authorizationv1.ResourceAttributes{
		{Verb: "list", Group: "metallb.io", Resource: "ipaddresspools", Namespace: ConfigNamespace},
	}
	if sa == componentAccounts["speaker"] {
		checks = append(checks, authorizationv1.ResourceAttributes{Verb: "get", Resource: "secrets", Namespace: ConfigNamespace})
	}
	user := fmt.Sprintf("system:serviceaccount:%s:%s", ConfigNamespace, sa)
	deadline := time.Now().Add(15 * time.Second)
	for _, attrs := range checks {
		for {
			review, err := l.Client.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{
				Spec: authorizationv1.SubjectAccessReviewSpec{User: user, ResourceAttributes: &attrs},
			}, metav1.CreateOptions{})
			if err == nil && review.Status.Allowed {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("%s may not %s %s in %s after 15s (%v)", user, attrs.Verb, attrs.Resource, ConfigNamespace, err)
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	return nil
}
