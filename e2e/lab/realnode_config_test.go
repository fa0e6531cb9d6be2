package lab

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// TestRealNodeConfigs checks the settings this host needs (see the
// functions' comments) and that a node writes nothing outside its own
// directory: every absolute path in its configuration is under it, but
// the plugin directory and the CA, which are given.
func TestRealNodeConfigs(t *testing.T) {
	rt := newNodeRuntime("/run/barelb-lab/t", "t-node2")
	rt.kubeconfig = "/run/barelb-lab/t/kubelet-t-node2.kubeconfig"
	p := planNode(2)
	cni, err := cniConfig(rt, p)
	if err != nil {
		t.Fatal(err)
	}
	ctr := containerdConfig(rt, "/cache/cni", PauseImage)
	kub := kubeletConfig(rt, "/run/barelb-lab/t/pki/ca.crt")

	for _, want := range []string{
		"restrict_oom_score_adj = true",
		"netns_mounts_under_state_dir = true",
		"SystemdCgroup = false",
		`snapshotter = "overlayfs"`,
		`sandbox_image = "` + PauseImage + `"`,
		`bin_dir = "/cache/cni"`,
	} {
		if !strings.Contains(ctr, want) {
			t.Errorf("containerd config lacks %s", want)
		}
	}

	var kc map[string]any
	if err := yaml.Unmarshal([]byte(kub), &kc); err != nil {
		t.Fatalf("kubelet config is not YAML: %v\n%s", err, kub)
	}
	for k, want := range map[string]any{
		"failCgroupV1": false, "cgroupDriver": "cgroupfs", "cgroupsPerQOS": false,
		"failSwapOn": false, "protectKernelDefaults": true, "resolvConf": "",
		"imageGCHighThresholdPercent": float64(100),
	} {
		if kc[k] != want {
			t.Errorf("kubelet config %s = %v, want %v", k, kc[k], want)
		}
	}
	if ena, ok := kc["enforceNodeAllocatable"].([]any); !ok || len(ena) != 0 {
		t.Errorf("kubelet config enforceNodeAllocatable = %v, want [] (cgroupsPerQOS is off)", kc["enforceNodeAllocatable"])
	}

	var cc struct {
		Plugins []struct {
			Type string
			IPAM struct {
				Ranges [][]struct{ Subnet, Gateway string }
				Routes []struct{ Dst string }
			}
		}
	}
	if err := json.Unmarshal([]byte(cni), &cc); err != nil {
		t.Fatal(err)
	}
	if len(cc.Plugins) != 1 || cc.Plugins[0].Type != "ptp" {
		t.Fatalf("CNI plugins %+v, want one ptp", cc.Plugins)
	}
	ipam := cc.Plugins[0].IPAM
	if len(ipam.Ranges) != 2 || ipam.Ranges[0][0].Subnet != p.PodV4.String() || ipam.Ranges[1][0].Subnet != p.PodV6.String() ||
		ipam.Ranges[0][0].Gateway != p.GatewayV4.String() {
		t.Errorf("CNI ranges %+v, want the node's Pod CIDRs %v/%v with gateway %v", ipam.Ranges, p.PodV4, p.PodV6, p.GatewayV4)
	}
	for _, r := range ipam.Routes {
		if r.Dst == "0.0.0.0/0" || r.Dst == "::/0" {
			t.Errorf("CNI gives Pods a default route %s: they must reach only the lab", r.Dst)
		}
	}

	args := strings.Join(kubeletArgs(rt, &Node{Name: "t-node2", IPv4: p.LANv4, IPv6: p.LANv6}, rt.path("kubelet.yaml")), " ")
	if !strings.Contains(args, "--node-ip="+p.LANv4.String()+","+p.LANv6.String()) {
		t.Errorf("kubelet args %s lack the node's lab addresses", args)
	}

	given := []string{"/cache/cni", "/run/barelb-lab/t/pki/ca.crt", rt.kubeconfig}
	pathRE := regexp.MustCompile(`(?:^|["\s=])(/[A-Za-z0-9._/-]+)`)
	for name, body := range map[string]string{"containerd": ctr, "cni": cni, "kubelet": kub, "args": args} {
		for _, m := range pathRE.FindAllStringSubmatch(body, -1) {
			path := m[1]
			ok := strings.HasPrefix(path, rt.dir+"/")
			for _, g := range given {
				ok = ok || path == g
			}
			if !ok {
				t.Errorf("%s config names %s, outside the node's directory %s", name, path, rt.dir)
			}
		}
	}
}
