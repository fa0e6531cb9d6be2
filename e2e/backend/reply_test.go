package backend

import (
	"io"
	"net/http/httptest"
	"testing"
)

func TestFormatParseRoundTrip(t *testing.T) {
	want := Reply{NodeIP: "198.18.1.132", PodIP: "198.18.242.2", NodeName: "barelb-node2", PodName: "httpd-6f7b-kgzpg", Client: "198.18.1.201"}
	got, err := Parse(want.Format())
	if err != nil || got != want {
		t.Fatalf("Parse(Format()) = %+v, %v; want %+v", got, err, want)
	}
}

func TestParseSeedPage(t *testing.T) {
	// The seed's own httpd page, which has no Client field.
	page := "<html><body>Node IP: 192.168.11.132, Pod IP: 10.244.1.12, Node Hostname: worker1.internal, Pod Name: httpd-deployment-6f7bcfdb54-zn54n</body></html>"
	got, err := Parse(page)
	if err != nil {
		t.Fatal(err)
	}
	if got.PodName != "httpd-deployment-6f7bcfdb54-zn54n" || got.NodeName != "worker1.internal" || got.Client != "" {
		t.Fatalf("Parse(seed page) = %+v", got)
	}
	if _, err := Parse("<html>It works!</html>"); err == nil {
		t.Fatal("Parse accepted a page that is not a backend reply")
	}
}

func TestHandlerReportsClient(t *testing.T) {
	s := Server{Self: Reply{NodeIP: "198.18.1.131", PodIP: "198.18.241.2", NodeName: "n1", PodName: "p1"}}
	req := httptest.NewRequest("GET", "/", nil)
	req.RemoteAddr = "[2001:db8:1::201]:40000"
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, req)
	body, _ := io.ReadAll(rec.Body)
	got, err := Parse(string(body))
	if err != nil {
		t.Fatal(err)
	}
	if got.Client != "2001:db8:1::201" || got.PodName != "p1" {
		t.Fatalf("reply = %+v", got)
	}
}
