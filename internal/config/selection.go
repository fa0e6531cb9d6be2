package config

import (
	"slices"

	"k8s.io/apimachinery/pkg/labels"
)

// AllowsService reports whether a Service in namespace ns (whose labels
// are nsLabels) with labels svcLabels may take addresses from the pool.
// Each kind of restriction that is set must match.
func (p *Pool) AllowsService(ns string, nsLabels, svcLabels map[string]string) bool {
	if len(p.Namespaces) > 0 || len(p.NamespaceSelectors) > 0 {
		ok := slices.Contains(p.Namespaces, ns) || anyMatch(p.NamespaceSelectors, nsLabels)
		if !ok {
			return false
		}
	}
	if len(p.ServiceSelectors) > 0 && !anyMatch(p.ServiceSelectors, svcLabels) {
		return false
	}
	return true
}

// Restricted reports whether the pool limits the Services it serves.
func (p *Pool) Restricted() bool {
	return len(p.Namespaces) > 0 || len(p.NamespaceSelectors) > 0 || len(p.ServiceSelectors) > 0
}

// SelectsNode reports whether node labels match a list of node selectors,
// where an empty list selects every node.
func SelectsNode(sels []labels.Selector, nodeLabels map[string]string) bool {
	return len(sels) == 0 || anyMatch(sels, nodeLabels)
}

func anyMatch(sels []labels.Selector, l map[string]string) bool {
	for _, s := range sels {
		if s.Matches(labels.Set(l)) {
			return true
		}
	}
	return false
}

// SelectsService reports whether Service labels match an advertisement's
// serviceSelectors, where an empty list selects every Service.
func SelectsService(sels []labels.Selector, svcLabels map[string]string) bool {
	return len(sels) == 0 || anyMatch(sels, svcLabels)
}
