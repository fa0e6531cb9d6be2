// Package backend is the web server that stands in for the seed walkthrough's
// httpd Pods: each answer names the node and Pod that served it, so a test
// (or a person running curl) can see which backend kube-proxy picked.
package backend

import (
	"fmt"
	"regexp"
)

// Reply is what one backend says about itself. The first four fields match
// the seed's index.html; Client is the source address the backend saw, which
// shows whether a path preserved the client IP (externalTrafficPolicy: Local).
type Reply struct {
	NodeIP   string
	PodIP    string
	NodeName string
	PodName  string
	Client   string
}

// Format renders r as the seed's one-line HTML page, with the client
// address appended.
func (r Reply) Format() string {
	return fmt.Sprintf("<html><body>Node IP: %s, Pod IP: %s, Node Hostname: %s, Pod Name: %s, Client: %s</body></html>\n",
		r.NodeIP, r.PodIP, r.NodeName, r.PodName, r.Client)
}

var replyRE = regexp.MustCompile(`Node IP: ([^,]*), Pod IP: ([^,]*), Node Hostname: ([^,]*), Pod Name: ([^,<]*)(?:, Client: ([^<]*))?</body>`)

// Parse reads a body produced by Format (or by the seed's httpd, which has
// no Client field).
func Parse(body string) (Reply, error) {
	m := replyRE.FindStringSubmatch(body)
	if m == nil {
		return Reply{}, fmt.Errorf("backend: not a backend reply: %q", body)
	}
	return Reply{NodeIP: m[1], PodIP: m[2], NodeName: m[3], PodName: m[4], Client: m[5]}, nil
}
