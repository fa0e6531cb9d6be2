package main

import "fmt"

// Source is the org.opencontainers.image.source label of every image.
const Source = "https://github.com/barelb/barelb"

// spec describes one image: which packages become which files, and the
// process the image runs.
type spec struct {
	Name        string // short name: the tarball's file name and the CLI's
	Repo        string // repository part of the reference
	Title       string
	Description string
	Files       []file
	Entrypoint  []string
	// User is numeric (UID:GID): the image has no /etc/passwd, and the
	// kubelet can only enforce runAsNonRoot against a numeric user.
	User string
}

// file is one static binary at the image's root.
type file struct {
	Path string // inside the image, e.g. "/controller"
	Pkg  string // Go package to build, relative to the checkout
}

// Users of the images. 65532 is distroless's "nonroot", so the Dockerfile's
// distroless base and this image agree on the controller's identity.
const (
	NonRootUser = "65532:65532"
	RootUser    = "0:0"
	PauseUser   = "65535:65535" // the upstream pause image's
)

// specs are the images this program knows. barelb is the one users run;
// pause and backend exist for the real-node lab, whose containerd must find
// every image locally.
func specs() []spec {
	return []spec{
		{
			Name: "barelb", Repo: "barelb",
			Title:       "barelb",
			Description: "barelb load balancer: /controller (assigns addresses) and /speaker (announces them; /speaker-bgp is its BGP process); the entrypoint is the controller, the speaker DaemonSet sets command: [/speaker] and runs as root",
			Files:       []file{{"/controller", "./controller"}, {"/speaker", "./speaker"}, {"/speaker-bgp", "./cmd/speaker-bgp"}},
			Entrypoint:  []string{"/controller"},
			User:        NonRootUser,
		},
		{
			Name: "pause", Repo: "barelb.test/pause",
			Title:       "barelb lab pause",
			Description: "Pod sandbox process for barelb's real-node lab: sleeps until SIGTERM",
			Files:       []file{{"/pause", "./e2e/cmd/pause"}},
			Entrypoint:  []string{"/pause"},
			User:        PauseUser,
		},
		{
			Name: "backend", Repo: "barelb.test/backend",
			Title:       "barelb lab backend",
			Description: "web server answering with its node and Pod, the seed walkthrough's httpd stand-in",
			Files:       []file{{"/backend", "./e2e/cmd/backend"}},
			Entrypoint:  []string{"/backend"},
			// Port 80, as the seed's httpd: root, as httpd's image runs.
			User: RootUser,
		},
	}
}

// lookup returns the specs named, in the order given; "all" is every one.
func lookup(names []string) ([]spec, error) {
	all := specs()
	if len(names) == 0 {
		return all[:1], nil
	}
	var out []spec
	seen := map[string]bool{}
	for _, n := range names {
		if n == "all" {
			return all, nil
		}
		found := false
		for _, s := range all {
			if s.Name == n {
				found = true
				if !seen[n] {
					out = append(out, s)
					seen[n] = true
				}
			}
		}
		if !found {
			return nil, fmt.Errorf("unknown image %q (know barelb, pause, backend, all)", n)
		}
	}
	return out, nil
}
