package app

import "testing"

func TestIgnoreFunc(t *testing.T) {
	ignore, err := ignoreFunc(" mgmt0, bond*,")
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]bool{
		"mgmt0": true, "mgmt1": false, "bond0": true, "eth0": false,
		"veth1234": true, "cali0": true, // container interfaces stay ignored
	} {
		if got := ignore(name); got != want {
			t.Errorf("ignore(%q) = %v, want %v", name, got, want)
		}
	}
	if _, err := ignoreFunc("eth[0"); err == nil {
		t.Error("a malformed glob was accepted")
	}
	none, err := ignoreFunc("")
	if err != nil || none("eth0") || !none("docker0") {
		t.Errorf("empty list: err %v, eth0 ignored %v, docker0 ignored %v", err, none("eth0"), none("docker0"))
	}
}
