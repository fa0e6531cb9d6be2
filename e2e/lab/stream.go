package lab

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/barelb/barelb/testsupport/check"
	"github.com/barelb/barelb/testsupport/netlab"
)

// RequestStream sends HTTP GETs, each on a new connection, from a lab
// namespace (the client) one after another until stopped, counting
// successes and failures: failed connection attempts (no node took the
// SYN: nobody answered ARP/NDP, or the answer led nowhere) apart from
// other failures (a connection reset or cut mid-request). A failover or
// upgrade test reads the counts; each request has a connect timeout (1 s
// by default) and a 3 s overall timeout, so a stall counts as a failure
// rather than hiding.
type RequestStream struct {
	OK, DialFailed, OtherFailed atomic.Int64
	// Slow counts the successful requests that took over a second: a SYN
	// or a packet the kernel had to send again.
	Slow atomic.Int64

	mu          sync.Mutex
	errs        []string
	stopc, done chan struct{}
	once        sync.Once
}

// StartStream starts a stream of requests to url from ns, each allowed
// 1 s to connect: no SYN may need sending again.
func StartStream(ns *netlab.Namespace, url string) *RequestStream {
	return StartStreamWith(ns, url, time.Second)
}

// StartStreamWith is StartStream with another connect timeout. Above 1 s
// a connection whose first SYN was lost (TCP sends it again after 1 s)
// succeeds, and is counted in Slow.
func StartStreamWith(ns *netlab.Namespace, url string, connect time.Duration) *RequestStream {
	s := &RequestStream{stopc: make(chan struct{}), done: make(chan struct{})}
	dial := dialerIn(ns)
	var dialFailed atomic.Bool
	tr := &http.Transport{
		DisableKeepAlives: true,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			ctx, cancel := context.WithTimeout(ctx, connect)
			defer cancel()
			c, err := dial(ctx, network, addr)
			if err != nil {
				dialFailed.Store(true)
			}
			return c, err
		},
	}
	hc := &http.Client{Transport: tr, Timeout: 3 * time.Second}
	go func() {
		defer close(s.done)
		for {
			select {
			case <-s.stopc:
				return
			default:
			}
			dialFailed.Store(false)
			at := time.Now()
			resp, err := hc.Get(url)
			if err == nil {
				_, err = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if err == nil && resp.StatusCode != http.StatusOK {
					err = fmt.Errorf("HTTP %s", resp.Status)
				}
			}
			switch {
			case err == nil:
				s.OK.Add(1)
				if time.Since(at) > time.Second {
					s.Slow.Add(1)
				}
			case dialFailed.Load():
				s.DialFailed.Add(1)
			default:
				s.OtherFailed.Add(1)
			}
			if err != nil {
				s.mu.Lock()
				s.errs = append(s.errs, fmt.Sprintf("%s: %v", at.Format("15:04:05.000"), err))
				s.mu.Unlock()
			}
			time.Sleep(5 * time.Millisecond) // pacing, not synchronisation
		}
	}()
	return s
}

// Stop ends the stream and waits for the request in flight. Safe to call
// more than once.
func (s *RequestStream) Stop() {
	s.once.Do(func() { close(s.stopc) })
	<-s.done
}

// Failed is the number of failed requests of either kind.
func (s *RequestStream) Failed() int64 { return s.DialFailed.Load() + s.OtherFailed.Load() }

// Errors returns every failure so far, one line each, with its time.
func (s *RequestStream) Errors() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.errs, "\n")
}

// String reports the counts.
func (s *RequestStream) String() string {
	return fmt.Sprintf("%d ok (%d over 1 s), %d failed connection attempts, %d other failures", s.OK.Load(), s.Slow.Load(), s.DialFailed.Load(), s.OtherFailed.Load())
}

// WaitOK waits up to timeout until n more requests have succeeded.
func (s *RequestStream) WaitOK(timeout time.Duration, n int64) error {
	want := s.OK.Load() + n
	return check.PollErr(timeout, func() error {
		if got := s.OK.Load(); got < want {
			return fmt.Errorf("%d more successful requests: %d of %d (%s)", n, got, want, s)
		}
		return nil
	})
}
