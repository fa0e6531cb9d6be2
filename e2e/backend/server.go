package backend

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"
	"time"
)

// Server answers every HTTP request on its ports with a Reply describing
// itself. Identity is fixed at start: like the seed's init container, which
// writes index.html once from the downward API.
type Server struct {
	Self  Reply // Client is filled in per request
	Ports []int
}

// Handler returns the HTTP handler: /healthz says ok, every other path
// answers with the seed's page.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		rep := s.Self
		rep.Client, _, _ = net.SplitHostPort(r.RemoteAddr)
		w.Header().Set("Content-Type", "text/html")
		// Connections are not kept alive, so every curl in a loop is a new
		// connection that kube-proxy balances afresh.
		w.Header().Set("Connection", "close")
		_, _ = w.Write([]byte(rep.Format()))
	})
	return mux
}

// Run listens on every port (dual-stack "[::]:port" sockets, so both the
// Pod's IPv4 and IPv6 addresses answer) until ctx ends.
func (s *Server) Run(ctx context.Context) error {
	h := s.Handler()
	errc := make(chan error, len(s.Ports))
	var servers []*http.Server
	for _, p := range s.Ports {
		ln, err := net.Listen("tcp", net.JoinHostPort("::", strconv.Itoa(p)))
		if err != nil {
			for _, srv := range servers {
				_ = srv.Close()
			}
			return err
		}
		srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
		srv.SetKeepAlivesEnabled(false)
		servers = append(servers, srv)
		go func() { errc <- srv.Serve(ln) }()
	}
	select {
	case <-ctx.Done():
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			return err
		}
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for _, srv := range servers {
		_ = srv.Shutdown(shutdown)
	}
	return nil
}
