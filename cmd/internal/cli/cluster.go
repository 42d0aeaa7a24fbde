package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/rivven/rivven-connect/compiler/plan"
	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/stdlib/rivven/broker"
	"github.com/rivven/rivven-connect/stdlib/rivven/client"
)

// nodeStatus is the latest record a node published for one pipeline to
// the cluster topic (runtime.ClusterStatusSchema), with what the reader
// makes of it.
type nodeStatus struct {
	Node             string `json:"node"`
	Pipeline         string `json:"pipeline"`
	Role             string `json:"role"`
	Epoch            uint64 `json:"epoch"`
	State            string `json:"state"`
	In               uint64 `json:"in"`
	Out              uint64 `json:"out"`
	HeartbeatMs      int64  `json:"heartbeat_ms"`
	FailureTimeoutMs int64  `json:"failure_timeout_ms"`
	AtMs             int64  `json:"at_ms"`
	// Tasks are the tasks of a scalable pipeline the node runs ("0,3").
	Tasks string `json:"tasks"`
	// LagMs is the event lag of the newest record read, -1 before any;
	// SourceLag the source's own measure in SourceLagUnit, -1 when none.
	LagMs         int64  `json:"lag_ms"`
	SourceLag     int64  `json:"source_lag"`
	SourceLagUnit string `json:"source_lag_unit"`
	// Silent: the node has published nothing for longer than the failure
	// timeout (it stopped, died or is cut off).
	Silent bool `json:"silent"`
}

// clusterReport is `status --cluster --format json`.
type clusterReport struct {
	Topic string       `json:"cluster_topic"`
	Nodes []nodeStatus `json:"nodes"`
	// Leaderless lists the pipelines no live node leads.
	Leaderless []string `json:"leaderless"`
	// Unowned lists, per scalable pipeline, the tasks no live node runs
	// (during a rebalance, or with no node left).
	Unowned map[string][]int `json:"unowned"`
}

// showCluster prints the state of every node of p's cluster, from the
// latest record each (node, pipeline) published to the cluster topic. It
// exits 1 when the topic cannot be read, a singleton pipeline has no
// live leader, or a task of a scalable pipeline runs on no live node.
func showCluster(e *env, p *plan.Plan, format string) int {
	var cl runtime.Cluster
	var pipes []string
	tasks := map[string]int{}
	for _, pp := range p.Pipelines {
		if pp.Enabled && pp.Settings.Cluster.Enabled {
			cl = pp.Settings.Cluster
			if pp.Settings.Singleton {
				pipes = append(pipes, pp.Name) // each needs a live leader
			}
			if pp.Settings.Tasks > 0 {
				tasks[pp.Name] = pp.Settings.Tasks // each task needs a live node
			}
		}
	}
	if !cl.Enabled || p.Broker == nil {
		fmt.Fprintln(e.stderr, "rivven-connect status --cluster: the config runs no pipeline in distributed mode (distributed.enabled: true)")
		return exitUsage
	}
	redact := runtime.Redactor(p.Secrets)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	latest, err := readClusterTopic(ctx, *p.Broker, cl.Topic)
	if err != nil {
		fmt.Fprintf(e.stderr, "rivven-connect status --cluster: reading cluster topic %q: %s\n", cl.Topic, redact(err.Error()))
		return exitFailure
	}
	now := time.Now().UnixMilli()
	rep := clusterReport{Topic: cl.Topic, Nodes: []nodeStatus{}, Leaderless: []string{}, Unowned: map[string][]int{}}
	led := map[string]bool{}
	owned := map[string]map[int]bool{}
	for _, s := range latest {
		s.Silent = s.Role != runtime.RoleStopped && now-s.AtMs > max(s.FailureTimeoutMs, int64(cl.FailureTimeoutMs))
		if s.Role == runtime.RoleLeader && !s.Silent {
			led[s.Pipeline] = true
		}
		if !s.Silent && s.Role == runtime.RoleMember && s.Tasks != "" {
			for f := range strings.SplitSeq(s.Tasks, ",") {
				if n, err := strconv.Atoi(f); err == nil {
					if owned[s.Pipeline] == nil {
						owned[s.Pipeline] = map[int]bool{}
					}
					owned[s.Pipeline][n] = true
				}
			}
		}
		rep.Nodes = append(rep.Nodes, s)
	}
	for name, n := range tasks {
		for i := range n {
			if !owned[name][i] {
				rep.Unowned[name] = append(rep.Unowned[name], i)
			}
		}
	}
	slices.SortFunc(rep.Nodes, func(a, b nodeStatus) int {
		return strings.Compare(a.Pipeline+"\x00"+a.Node, b.Pipeline+"\x00"+b.Node)
	})
	for _, name := range pipes {
		if !led[name] {
			rep.Leaderless = append(rep.Leaderless, name)
		}
	}
	code := exitOK
	if len(rep.Leaderless) > 0 || len(rep.Unowned) > 0 {
		code = exitFailure
	}
	if format == "json" {
		b, _ := json.MarshalIndent(rep, "", "  ")
		fmt.Fprintln(e.stdout, redact(string(b)))
		return code
	}
	fmt.Fprintf(e.stdout, "cluster topic %s: %d nodes\n", cl.Topic, countNodes(rep.Nodes))
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PIPELINE\tNODE\tROLE\tEPOCH\tTASKS\tSTATE\tIN\tOUT\tLAG\tLAST SEEN")
	for _, s := range rep.Nodes {
		epoch := "-"
		if s.Epoch > 0 {
			epoch = fmt.Sprint(s.Epoch)
		}
		seen := time.Duration(now-s.AtMs) * time.Millisecond
		last := seen.Round(100*time.Millisecond).String() + " ago"
		if s.Silent {
			last += " (silent)"
		}
		ts := s.Tasks
		if ts == "" {
			ts = "-"
		}
		lag := "-"
		if s.LagMs >= 0 {
			lag = (time.Duration(s.LagMs) * time.Millisecond).String()
		}
		if s.SourceLag >= 0 {
			lag += fmt.Sprintf(" (%d %s)", s.SourceLag, s.SourceLagUnit)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%s\t%s\n", s.Pipeline, redact(s.Node), s.Role, epoch, ts, s.State, s.In, s.Out, lag, last)
	}
	tw.Flush()
	for _, name := range rep.Leaderless {
		fmt.Fprintf(e.stdout, "pipeline %s: no live node leads it\n", name)
	}
	for _, name := range slices.Sorted(maps.Keys(rep.Unowned)) {
		ts := make([]string, len(rep.Unowned[name]))
		for i, n := range rep.Unowned[name] {
			ts[i] = strconv.Itoa(n)
		}
		fmt.Fprintf(e.stdout, "pipeline %s: tasks %s run on no live node\n", name, strings.Join(ts, ","))
	}
	return code
}

func countNodes(ns []nodeStatus) int {
	seen := map[string]bool{}
	for _, s := range ns {
		seen[s.Node] = true
	}
	return len(seen)
}

// readClusterTopic reads topic from its start and returns the latest
// record of each (node, pipeline).
func readClusterTopic(ctx context.Context, conn broker.Conn, topic string) (map[[2]string]nodeStatus, error) {
	c, err := broker.Connect(ctx, conn, broker.Options{})
	if err != nil {
		return nil, err
	}
	defer c.Close()
	parts, err := c.GetMetadata(ctx, topic)
	if err != nil {
		return nil, err
	}
	latest := map[[2]string]nodeStatus{}
	for part := range parts {
		from, _, err := c.GetOffsetBounds(ctx, topic, part)
		if err != nil {
			return nil, err
		}
		for off := from; ; {
			msgs, err := c.Consume(ctx, topic, part, off, client.ConsumeOptions{MaxMessages: 10000})
			if err != nil {
				return nil, err
			}
			if len(msgs) == 0 {
				break
			}
			for _, m := range msgs {
				off = m.Offset + 1
				s := nodeStatus{LagMs: -1, SourceLag: -1} // absent from earlier versions' records
				if json.Unmarshal(m.Value, &s) != nil || s.Node == "" || s.Pipeline == "" {
					continue // not a status record
				}
				k := [2]string{s.Node, s.Pipeline}
				if old, ok := latest[k]; !ok || s.AtMs >= old.AtMs {
					latest[k] = s
				}
			}
		}
	}
	return latest, nil
}
