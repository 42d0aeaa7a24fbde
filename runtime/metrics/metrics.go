// Package metrics exposes running pipelines to Prometheus: counters read
// from each pipeline's Stats at scrape time, and histograms of batch sizes
// and sink write latency fed through runtime.Observer.
//
// Metric names (all prefixed rivven_connect_):
//
//	uptime_seconds                               gauge
//	pipeline_state{pipeline,state}               gauge, 1 for the current state
//	records_in_total{pipeline}                   counter: read from the source
//	records_out_total{pipeline}                  counter: accepted by the sink
//	records_dropped_total{pipeline}              counter: dropped by a filter
//	records_failed_total{pipeline}               counter: skipped or dead-lettered
//	records_dead_lettered_total{pipeline}        counter
//	sink_retries_total{pipeline}                 counter
//	stage_failures_total{pipeline,stage}         counter: by transform name, stage "sink" for sink failures
//	sink_errors_total{pipeline}                  counter: failed write attempts
//	source_batch_records{pipeline}               histogram
//	sink_batch_records{pipeline}                 histogram
//	sink_write_seconds{pipeline}                 histogram
//	source_lag_seconds{pipeline}                 gauge: read time − event time of the newest record read
//	source_lag{pipeline,unit}                    gauge: the source's own lag (postgres-cdc: WAL bytes)
//	source_events_total{source}, sink_events_total{sink}: the original's names
//
// Every series except the two lag gauges exists from the start, at zero,
// for every pipeline (stage_failures_total for each transform of
// runtime.Pipeline.Transforms and for stage "sink"; the series of a
// transform a pipeline does not list appears when it first fails). The lag
// gauges appear once the lag is known: a zero would claim a source caught
// up before it has even connected.
package metrics

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/runtime/app"
)

// Collector gathers the metrics of a set of pipelines. It implements
// runtime.Observer; set it as each pipeline's Observer.
type Collector struct {
	reg         *prometheus.Registry
	pipes       []*runtime.Pipeline
	names       map[string][2]string
	start       time.Time
	sourceBatch *prometheus.HistogramVec
	sinkBatch   *prometheus.HistogramVec
	sinkLatency *prometheus.HistogramVec
	sinkErrors  *prometheus.CounterVec
	stageFailed *prometheus.CounterVec
}

var _ runtime.Observer = (*Collector)(nil)

const ns = "rivven_connect"

func init() {
	app.NewMetrics = func(pipes []*runtime.Pipeline, names map[string][2]string) app.MetricsCollector {
		return New(pipes, names)
	}
}

// New returns a collector over pipes. names (may be nil) maps a pipeline
// to its source's and sink's config names, for the original's
// source_events_total and sink_events_total.
func New(pipes []*runtime.Pipeline, names map[string][2]string) *Collector {
	batchBuckets := []float64{1, 4, 16, 64, 128, 256, 512, 1024, 4096, 16384}
	c := &Collector{
		reg: prometheus.NewRegistry(), pipes: pipes, names: names, start: time.Now(),
		sourceBatch: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: ns, Name: "source_batch_records",
			Help: "Records per batch read from the source.", Buckets: batchBuckets}, []string{"pipeline"}),
		sinkBatch: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: ns, Name: "sink_batch_records",
			Help: "Records per sink write.", Buckets: batchBuckets}, []string{"pipeline"}),
		sinkLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: ns, Name: "sink_write_seconds",
			Help: "Duration of sink writes.", Buckets: prometheus.ExponentialBuckets(0.0001, 4, 10)}, []string{"pipeline"}),
		sinkErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "sink_errors_total",
			Help: "Failed sink write attempts (retries included)."}, []string{"pipeline"}),
		stageFailed: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "stage_failures_total",
			Help: "Records that failed, by transform (\"sink\" for the sink)."}, []string{"pipeline", "stage"}),
	}
	c.reg.MustRegister(c.sourceBatch, c.sinkBatch, c.sinkLatency, c.sinkErrors, c.stageFailed, stats{c})
	for _, p := range pipes {
		// A labelled series exists once touched: touch them all now.
		c.sourceBatch.WithLabelValues(p.Name)
		c.sinkBatch.WithLabelValues(p.Name)
		c.sinkLatency.WithLabelValues(p.Name)
		c.sinkErrors.WithLabelValues(p.Name)
		for _, t := range p.Transforms {
			c.stageFailed.WithLabelValues(p.Name, t)
		}
		c.stageFailed.WithLabelValues(p.Name, "sink")
	}
	return c
}

// Handler serves the Prometheus text format.
func (c *Collector) Handler() http.Handler {
	return promhttp.HandlerFor(c.reg, promhttp.HandlerOpts{})
}

// SourceBatch implements runtime.Observer.
func (c *Collector) SourceBatch(pipeline string, n int) {
	c.sourceBatch.WithLabelValues(pipeline).Observe(float64(n))
}

// SinkWrite implements runtime.Observer.
func (c *Collector) SinkWrite(pipeline string, n int, d time.Duration, err error) {
	c.sinkLatency.WithLabelValues(pipeline).Observe(d.Seconds())
	if err != nil {
		c.sinkErrors.WithLabelValues(pipeline).Inc()
		return
	}
	c.sinkBatch.WithLabelValues(pipeline).Observe(float64(n))
}

// StageFailed implements runtime.Observer.
func (c *Collector) StageFailed(pipeline, stage string) {
	if stage == "" {
		stage = "sink"
	}
	c.stageFailed.WithLabelValues(pipeline, stage).Inc()
}

// stats reads the pipelines' counters at scrape time.
type stats struct{ c *Collector }

var (
	descUptime   = prometheus.NewDesc(ns+"_uptime_seconds", "Seconds since the process started running pipelines.", nil, nil)
	descState    = prometheus.NewDesc(ns+"_pipeline_state", "1 for the pipeline's current state.", []string{"pipeline", "state"}, nil)
	descIn       = prometheus.NewDesc(ns+"_records_in_total", "Records read from the source.", []string{"pipeline"}, nil)
	descOut      = prometheus.NewDesc(ns+"_records_out_total", "Records durably accepted by the sink.", []string{"pipeline"}, nil)
	descDropped  = prometheus.NewDesc(ns+"_records_dropped_total", "Records dropped by a filter.", []string{"pipeline"}, nil)
	descFailed   = prometheus.NewDesc(ns+"_records_failed_total", "Records skipped or dead-lettered by on_error.", []string{"pipeline"}, nil)
	descDead     = prometheus.NewDesc(ns+"_records_dead_lettered_total", "Records accepted by the dead-letter sink.", []string{"pipeline"}, nil)
	descRetries  = prometheus.NewDesc(ns+"_sink_retries_total", "Sink write retries.", []string{"pipeline"}, nil)
	descLagSecs  = prometheus.NewDesc(ns+"_source_lag_seconds", "How long before it was read the newest record read so far happened (where the source gives event times).", []string{"pipeline"}, nil)
	descLag      = prometheus.NewDesc(ns+"_source_lag", "How far the upstream's head is ahead of the acknowledged position, in unit (postgres-cdc: WAL bytes).", []string{"pipeline", "unit"}, nil)
	descSourceEv = prometheus.NewDesc(ns+"_source_events_total", "Events read, by source (the original's name).", []string{"source"}, nil)
	descSinkEv   = prometheus.NewDesc(ns+"_sink_events_total", "Events written, by sink (the original's name).", []string{"sink"}, nil)
)

func (s stats) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descUptime, descState, descIn, descOut, descDropped, descFailed, descDead, descRetries, descLagSecs, descLag, descSourceEv, descSinkEv} {
		ch <- d
	}
}

func (s stats) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(descUptime, prometheus.GaugeValue, time.Since(s.c.start).Seconds())
	sources, sinks := map[string]float64{}, map[string]float64{}
	for _, p := range s.c.pipes {
		st := p.Status()
		ch <- prometheus.MustNewConstMetric(descState, prometheus.GaugeValue, 1, p.Name, st.State.String())
		for _, m := range []struct {
			d *prometheus.Desc
			v uint64
		}{{descIn, st.In}, {descOut, st.Out}, {descDropped, st.Dropped}, {descFailed, st.Failed}, {descDead, st.DeadLettered}, {descRetries, st.Retries}} {
			ch <- prometheus.MustNewConstMetric(m.d, prometheus.CounterValue, float64(m.v), p.Name)
		}
		if st.HasEventLag {
			ch <- prometheus.MustNewConstMetric(descLagSecs, prometheus.GaugeValue, st.EventLag.Seconds(), p.Name)
		}
		if st.HasSourceLag {
			ch <- prometheus.MustNewConstMetric(descLag, prometheus.GaugeValue, float64(st.SourceLag), p.Name, st.SourceLagUnit)
		}
		src, sink := p.Name, p.Name
		if n, ok := s.c.names[p.Name]; ok {
			src, sink = n[0], n[1]
		}
		sources[src] += float64(st.In)
		sinks[sink] += float64(st.Out)
	}
	for n, v := range sources {
		ch <- prometheus.MustNewConstMetric(descSourceEv, prometheus.CounterValue, v, n)
	}
	for n, v := range sinks {
		ch <- prometheus.MustNewConstMetric(descSinkEv, prometheus.CounterValue, v, n)
	}
}
