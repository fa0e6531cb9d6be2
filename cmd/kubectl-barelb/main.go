// Command kubectl-barelb is a kubectl plugin (copy it onto PATH and run
// `kubectl barelb ...`) that says why a Service is pending, who announces
// it, how full the pools are, what each speaker reports and what is wrong
// with an install. It lists objects and prints the reports of
// internal/explain, which decides what to say.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/pflag"
	"golang.org/x/term"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/yaml"

	"github.com/barelb/barelb/internal/explain"
)

const usage = `Usage: kubectl barelb COMMAND [flags]

Commands:
  explain svc NAME   why the Service has (or lacks) addresses, who announces them
  pools              every IPAddressPool: used/free per family, its Services, problems
  status             speakers per node, BGP sessions, addresses nobody announces
  doctor             checks for broken installs; exits 1 when it finds a problem

Flags:
`

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

// run is the command; it returns the exit code: 0, 1 for doctor findings,
// 2 for usage or API errors.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("kubectl-barelb", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage); fs.PrintDefaults() }
	var (
		kubeconfig = fs.String("kubeconfig", "", "path to the kubeconfig file")
		kctx       = fs.String("context", "", "the kubeconfig context to use")
		ns         = fs.StringP("namespace", "n", "", "the Service's namespace (default: the context's)")
		cfgNS      = fs.String("barelb-namespace", "metallb-system", "barelb's configuration namespace")
		lbClass    = fs.String("lb-class", "", "barelb's loadBalancerClass (empty: the default class)")
		secret     = fs.String("memberlist-secret", "", "the speakers' memberlist Secret (default: from the speaker DaemonSet, else memberlist)")
		output     = fs.StringP("output", "o", "", "output format: json or yaml (default: tables)")
	)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return 0
		}
		return 2
	}
	rest := fs.Args()
	if len(rest) == 0 || (rest[0] == "explain" && (len(rest) != 3 || (rest[1] != "svc" && rest[1] != "service" && rest[1] != "services"))) {
		fs.Usage()
		return 2
	}
	if *output != "" && *output != "json" && *output != "yaml" {
		fmt.Fprintf(stderr, "error: unknown output format %q (json or yaml)\n", *output)
		return 2
	}
	loading := clientcmd.NewDefaultClientConfigLoadingRules()
	loading.ExplicitPath = *kubeconfig
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(loading, &clientcmd.ConfigOverrides{CurrentContext: *kctx})
	restCfg, err := cc.ClientConfig()
	if err != nil {
		fmt.Fprintln(stderr, "error:", err)
		return 2
	}
	if *ns == "" {
		if *ns, _, err = cc.Namespace(); err != nil {
			*ns = "default"
		}
	}
	c, err := newLoader(restCfg, *cfgNS)
	if err != nil {
		fmt.Fprintln(stderr, "error:", err)
		return 2
	}
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	eventsNS := ""
	if rest[0] == "explain" {
		eventsNS = *ns
	}
	cl, err := c.load(ctx, rest[0] == "doctor", rest[0] == "status", eventsNS)
	if err != nil {
		fmt.Fprintln(stderr, "error:", err)
		return 2
	}
	cl.LBClass, cl.MemberlistSecret, cl.Now = *lbClass, *secret, time.Now()
	p := explain.Printer{W: stdout, Color: isTTY(stdout)}
	var report any
	code := 0
	switch rest[0] {
	case "explain":
		r, err := explain.ExplainService(cl, *ns, rest[2])
		if err != nil {
			fmt.Fprintln(stderr, "error:", err)
			return 2
		}
		report = r
		if *output == "" {
			p.Service(r)
		}
	case "pools":
		r := explain.Pools(cl)
		report = r
		if *output == "" {
			p.Pools(r)
		}
	case "status":
		r := explain.Status(cl)
		report = r
		if *output == "" {
			p.Status(r)
		}
	case "doctor":
		r := explain.Doctor(cl)
		if r == nil {
			r = []explain.Finding{}
		}
		report = r
		if len(r) > 0 {
			code = 1
		}
		if *output == "" {
			p.Doctor(r)
		}
	default:
		fmt.Fprintf(stderr, "error: unknown command %q\n", rest[0])
		fs.Usage()
		return 2
	}
	if *output != "" {
		if err := encode(stdout, *output, report); err != nil {
			fmt.Fprintln(stderr, "error:", err)
			return 2
		}
	}
	return code
}

func encode(w io.Writer, format string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if format == "yaml" {
		if b, err = yaml.JSONToYAML(b); err != nil {
			return err
		}
	} else {
		b = append(b, '\n')
	}
	_, err = w.Write(b)
	return err
}

func isTTY(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd())) && os.Getenv("NO_COLOR") == ""
}
