// Package deploy carries barelb.yaml, the plain install manifest
// (namespace, service accounts, RBAC, controller Deployment, speaker
// DaemonSet, PodDisruptionBudget, NetworkPolicy) rendered from
// charts/barelb by `make manifests`, and the two helpers its tests and the
// chart's share to read manifests and check containers' arguments against
// the binaries' flags. Its test proves the manifest against a real API
// server and against the flags and environment the binaries read.
package deploy

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/yaml"
)

// Decode splits a multi-document YAML stream (kubectl's or helm
// template's) into objects, in order, skipping documents that hold only
// comments.
func Decode(r io.Reader) ([]*unstructured.Unstructured, error) {
	yr := utilyaml.NewYAMLReader(bufio.NewReader(r))
	var out []*unstructured.Unstructured
	for i := 0; ; i++ {
		doc, err := yr.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		u := &unstructured.Unstructured{}
		if err := yaml.Unmarshal(doc, &u.Object); err != nil {
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		if len(u.Object) > 0 {
			out = append(out, u)
		}
	}
}

// ParseArgs parses a container's arguments as the binary's main would:
// its own flags (bind) plus controller-runtime's logging flags
// (--zap-log-level, which the chart's logLevel sets). An unknown flag, a
// value the flag refuses, or a stray argument is an error.
func ParseArgs(name string, args []string, bind func(*flag.FlagSet)) error {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	bind(fs)
	var zo zap.Options
	zo.BindFlags(fs)
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%s: args %q: %w", name, args, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%s: stray arguments %q", name, fs.Args())
	}
	return nil
}
