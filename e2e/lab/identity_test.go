package lab

import (
	"slices"
	"testing"
)

func TestRefusedRE(t *testing.T) {
	for _, c := range []struct {
		line string
		want []string // user, verb, resource, group, namespace
	}{
		{ // a JSON log line from controller-runtime
			`{"level":"error","msg":"Failed to watch","error":"secrets is forbidden: User \"system:serviceaccount:metallb-system:speaker\" cannot watch resource \"secrets\" in API group \"\" in the namespace \"metallb-system\": RBAC: [role.rbac.authorization.k8s.io \"barelb-speaker\" not found]"}`,
			[]string{"system:serviceaccount:metallb-system:speaker", "watch", "secrets", "", "metallb-system"},
		},
		{
			`services "a" is forbidden: User "system:serviceaccount:metallb-system:controller" cannot update resource "services/status" in API group "" in the namespace "default"`,
			[]string{"system:serviceaccount:metallb-system:controller", "update", "services/status", "", "default"},
		},
		{
			`{"error":"nodes is forbidden: User \"u\" cannot list resource \"nodes\" in API group \"\" at the cluster scope"}`,
			[]string{"u", "list", "nodes", "", ""},
		},
		{ // admission, not RBAC
			`{"error":"events.events.k8s.io \"x\" is forbidden: unable to create new content in namespace lb-churn because it is being terminated"}`,
			nil,
		},
	} {
		m := refusedRE.FindStringSubmatch(c.line)
		var got []string
		if m != nil {
			got = m[1:]
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("%s\n got %q\nwant %q", c.line, got, c.want)
		}
	}
}
