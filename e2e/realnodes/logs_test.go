package realnodes

import (
	"bufio"
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/barelb/barelb/e2e/lab"
)

// speakerLogs follows the speaker Pods' logs from when it is made, so a
// failure can show what speakers that were since replaced said: a
// deleted Pod's log goes with it.
type speakerLogs struct {
	mu    sync.Mutex
	lines map[string][]string // by Pod name
}

// followSpeakerLogs starts following every speaker Pod that runs now;
// the streams end with ctx or with their containers.
func followSpeakerLogs(ctx context.Context, l *lab.Lab) *speakerLogs {
	s := &speakerLogs{lines: map[string][]string{}}
	list, err := l.Client.CoreV1().Pods(lab.ConfigNamespace).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/component=speaker"})
	if err != nil {
		s.lines["(list)"] = []string{err.Error()}
		return s
	}
	for _, p := range list.Items {
		go s.follow(ctx, l, p.Name)
	}
	return s
}

func (s *speakerLogs) follow(ctx context.Context, l *lab.Lab, pod string) {
	rc, err := l.Client.CoreV1().Pods(lab.ConfigNamespace).GetLogs(pod, &corev1.PodLogOptions{Follow: true}).Stream(ctx)
	if err != nil {
		s.add(pod, "(log stream: "+err.Error()+")")
		return
	}
	defer rc.Close()
	sc := bufio.NewScanner(rc)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		s.add(pod, sc.Text())
	}
}

func (s *speakerLogs) add(pod, line string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lines[pod] = append(s.lines[pod], line)
}

// String is the last lines of each followed Pod, then of the speaker Pods
// running now.
func (s *speakerLogs) String(ctx context.Context, l *lab.Lab, last int) string {
	var b strings.Builder
	s.mu.Lock()
	names := make([]string, 0, len(s.lines))
	for n := range s.lines {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		ls := s.lines[n]
		fmt.Fprintf(&b, "---- speaker %s (followed, %d lines, last %d)\n%s\n", n, len(ls), last, strings.Join(ls[max(0, len(ls)-last):], "\n"))
	}
	s.mu.Unlock()
	list, err := l.Client.CoreV1().Pods(lab.ConfigNamespace).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/component=speaker"})
	if err != nil {
		return b.String() + err.Error()
	}
	for _, p := range list.Items {
		tail := int64(last)
		raw, err := l.Client.CoreV1().Pods(lab.ConfigNamespace).GetLogs(p.Name, &corev1.PodLogOptions{TailLines: &tail}).DoRaw(ctx)
		if err != nil {
			raw = []byte(err.Error())
		}
		fmt.Fprintf(&b, "---- speaker %s on %s (now)\n%s\n", p.Name, p.Spec.NodeName, raw)
	}
	return b.String()
}
