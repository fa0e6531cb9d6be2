package lab

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
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
var components = []string{"controller", "speaker"} // each runs as the account of its name

// ServiceAccountUser is the user name the API server gives the service
// account name in ConfigNamespace.
func ServiceAccountUser(name string) string {
	return fmt.Sprintf("system:serviceaccount:%s:%s", ConfigNamespace, name)
}

// Allowed asks the API server's authorizer whether user may do what attrs
// describe.
func (l *Lab) Allowed(ctx context.Context, user string, attrs authorizationv1.ResourceAttributes) (bool, error) {
	review, err := l.Client.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{
		Spec: authorizationv1.SubjectAccessReviewSpec{User: user, ResourceAttributes: &attrs},
	}, metav1.CreateOptions{})
	if err != nil {
		return false, err
	}
	return review.Status.Allowed, nil
}

// issueComponentKubeconfigs writes one kubeconfig per barelb component
// with a certificate for its service account in ConfigNamespace.
func (l *Lab) issueComponentKubeconfigs(pk *pki, server string) error {
	l.componentKubeconfig = map[string]string{}
	for _, component := range components {
		user := ServiceAccountUser(component)
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
	sa := component
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

// refusedRE matches the API server's RBAC refusal inside a log line, whose
// quotes are escaped when the line is JSON.
var refusedRE = regexp.MustCompile(`User \\?"([^"\\]+)\\?" cannot ([a-z]+) resource \\?"([^"\\]+)\\?" in API group \\?"([^"\\]*)\\?" (?:in the namespace \\?"([^"\\]*)\\?"|at the cluster scope)`)

// MissingGrants returns the requests barelb's components logged as refused
// by RBAC that the API server still refuses: a role lacking a verb the code
// uses. A refusal that is now allowed was the authorizer's cache catching
// up (every request is refused for a moment after the API server
// restarts, as in the outage test) and is not reported. Refusals of other
// kinds (a terminating namespace) are not about grants and are skipped.
func (l *Lab) MissingGrants(ctx context.Context) []string {
	var comps []*Component
	if l.Controller != nil {
		comps = append(comps, l.Controller)
	}
	for _, n := range l.Nodes {
		if n.Speaker != nil {
			comps = append(comps, n.Speaker)
		}
	}
	seen := map[string]bool{}
	var out []string
	for _, c := range comps {
		b, err := os.ReadFile(c.Log)
		if err != nil {
			continue
		}
		for _, m := range refusedRE.FindAllStringSubmatch(string(b), -1) {
			user, verb, resource, group, ns := m[1], m[2], m[3], m[4], m[5]
			key := strings.Join(m[1:], " ")
			if seen[key] {
				continue
			}
			seen[key] = true
			res, sub, _ := strings.Cut(resource, "/")
			if ok, err := l.Allowed(ctx, user, authorizationv1.ResourceAttributes{
				Verb: verb, Group: group, Resource: res, Subresource: sub, Namespace: ns,
			}); err == nil && ok {
				continue
			}
			where := "cluster-wide"
			if ns != "" {
				where = "in " + ns
			}
			out = append(out, fmt.Sprintf("%s: %s may not %s %s (group %q) %s", c.Name, user, verb, resource, group, where))
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
	if sa == "speaker" {
		checks = append(checks, authorizationv1.ResourceAttributes{Verb: "get", Resource: "secrets", Namespace: ConfigNamespace})
	}
	user := ServiceAccountUser(sa)
	deadline := time.Now().Add(15 * time.Second)
	for _, attrs := range checks {
		for {
			ok, err := l.Allowed(ctx, user, attrs)
			if err == nil && ok {
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
