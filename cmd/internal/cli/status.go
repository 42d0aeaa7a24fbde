package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/pflag"

	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/runtime/health"
)

// statusURL is the --url flag of status.
var (
	statusURL     string
	statusCluster bool
)

func init() {
	commands = append(commands, &command{
		name:    "status",
		usage:   "[-c FILE] [--url URL | --cluster] [--format text|json]",
		summary: "Show a running instance's pipelines, read from its health endpoint, or with --cluster every node's, read from the cluster topic (exit 1 when unreachable or unhealthy).",
		flags: func(fs *pflag.FlagSet, o *options) {
			fs.StringVar(&o.format, "format", "text", "output format: text or json")
			fs.StringVar(&statusURL, "url", "", "health endpoint to read (default: from settings.health in the config)")
			fs.BoolVar(&statusCluster, "cluster", false, "show every node of the config's cluster (distributed mode), from the cluster topic")
		},
		run: func(e *env, o *options, args []string) int {
			defer func() { statusURL, statusCluster = "", false }()
			if len(args) > 0 {
				fmt.Fprintf(e.stderr, "rivven-connect status: unexpected argument %q\n", args[0])
				return exitUsage
			}
			if o.format != "text" && o.format != "json" {
				fmt.Fprintf(e.stderr, "rivven-connect status: --format must be text or json, not %q\n", o.format)
				return exitUsage
			}
			if statusCluster {
				if statusURL != "" {
					fmt.Fprintln(e.stderr, "rivven-connect status: --cluster reads the cluster topic; it takes no --url")
					return exitUsage
				}
				p, _, ok := e.compile(o)
				if !ok {
					return exitUsage
				}
				return showCluster(e, p, o.format)
			}
			url, from := statusURL, "--url"
			if url == "" {
				p, _, ok := e.compile(o)
				if !ok {
					return exitUsage
				}
				var proc runtime.Process
				for _, pp := range p.Pipelines {
					if pp.Settings.Process != (runtime.Process{}) {
						proc = pp.Settings.Process
						break
					}
				}
				url = healthURL(proc.Health)
				from = "settings.health in " + o.config
				if !proc.Health.Enabled {
					from = o.config + " does not enable settings.health; tried the default"
				}
			}
			return showStatus(e, url, from, o.format)
		},
	})
}

// healthURL is where a process with settings h serves its health report.
func healthURL(h runtime.Server) string {
	host := h.Address
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	port := h.Port
	if port == 0 {
		port = 8080
	}
	path := h.Path
	if path == "" {
		path = "/health"
	}
	return "http://" + net.JoinHostPort(host, strconv.Itoa(port)) + path
}

func showStatus(e *env, url, from, format string) int {
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		fmt.Fprintf(e.stderr, "rivven-connect status: cannot reach the health endpoint at %s (%s): %v\n", url, from, err)
		return exitFailure
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		fmt.Fprintf(e.stderr, "rivven-connect status: reading %s: %v\n", url, err)
		return exitFailure
	}
	var rep health.Report
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusServiceUnavailable || json.Unmarshal(body, &rep) != nil || rep.Status == "" {
		fmt.Fprintf(e.stderr, "rivven-connect status: %s (%s) answered %s, not a rivven-connect health report\n", url, from, resp.Status)
		return exitFailure
	}
	code := exitOK
	if rep.Status != "healthy" {
		code = exitFailure
	}
	if format == "json" {
		var out bytes.Buffer
		if json.Indent(&out, body, "", "  ") != nil {
			out.Reset()
			out.Write(body)
		}
		e.stdout.Write(bytes.TrimRight(out.Bytes(), "\n"))
		fmt.Fprintln(e.stdout)
		return code
	}
	fmt.Fprintf(e.stdout, "%s, up %s (%s)\n", rep.Status, time.Duration(rep.UptimeSecs)*time.Second, url)
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PIPELINE\tSTATE\tIN\tOUT\tDROPPED\tFAILED\tDEAD-LETTERED\tACKED\tLAST ERROR")
	for _, p := range rep.Pipelines {
		acked, lastErr := "-", "-"
		if pos, ok := p.AckedPosition(); ok {
			acked = pos
		}
		if p.LastError != nil {
			lastErr = oneLine(*p.LastError)
		}
		in := strconv.FormatUint(p.RecordsIn, 10)
		if p.Expected > 0 {
			in += "/" + strconv.FormatUint(p.Expected, 10)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%d\t%s\t%s\n", p.Name, p.State, in, p.RecordsOut, p.Dropped, p.Failed, p.DeadLettered, acked, lastErr)
	}
	tw.Flush()
	return code
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 120 {
		s = s[:117] + "..."
	}
	return s
}
