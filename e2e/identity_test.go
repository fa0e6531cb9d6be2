package e2e

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"

	"github.com/barelb/barelb/e2e/lab"
	"github.com/barelb/barelb/testsupport/check"
)

// TestComponentsRunAsServiceAccounts checks that the lab runs barelb as
// an operator's cluster would: the controller and speakers as their own
// service accounts with only the grants in config/rbac (every other test
// then proves those grants suffice, and TestMain fails on any refused
// request), and the speakers gossip encrypted with the memberlist Secret.
func TestComponentsRunAsServiceAccounts(t *testing.T) {
	l := requireSpeaker(t)
	for _, w := range l.Warnings {
		if strings.Contains(w, "runs as cluster admin") {
			t.Errorf("lab warning: %s", w)
		}
	}
	sa := lab.ServiceAccountUser
	for _, c := range []struct {
		user                 string
		verb, group, res, ns string
		want                 bool
	}{
		{sa("controller"), "update", "", "services/status", "default", true},
		{sa("controller"), "create", "metallb.io", "configurationstates", lab.ConfigNamespace, true},
		{sa("controller"), "get", "", "secrets", lab.ConfigNamespace, false},
		{sa("controller"), "delete", "", "services", "default", false},
		{sa("speaker"), "get", "", "secrets", lab.ConfigNamespace, true},
		{sa("speaker"), "get", "", "secrets", "kube-system", false},
		{sa("speaker"), "list", "", "secrets", "", false},
		{sa("speaker"), "create", "metallb.io", "servicel2statuses", lab.ConfigNamespace, true},
		{sa("speaker"), "update", "", "services", "default", false},
	} {
		res, sub, _ := strings.Cut(c.res, "/")
		allowed, err := l.Allowed(context.Background(), c.user, authorizationv1.ResourceAttributes{
			Verb: c.verb, Group: c.group, Resource: res, Subresource: sub, Namespace: c.ns,
		})
		if err != nil {
			t.Fatal(err)
		}
		if allowed != c.want {
			t.Errorf("%s %s %s in %q: allowed=%v, want %v", c.user, c.verb, c.res, c.ns, allowed, c.want)
		}
	}
	for _, n := range l.Nodes {
		check.Eventually(t, 30*time.Second, n.Name+" speaker logs that gossip is encrypted", func() error {
			b, err := os.ReadFile(n.Speaker.Log)
			if err != nil {
				return err
			}
			if !strings.Contains(string(b), "gossip is encrypted") {
				return fmt.Errorf("not yet; log tail:\n%s", n.Speaker.Tail(10))
			}
			return nil
		})
	}
}
