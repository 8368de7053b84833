package fleet

import (
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are a worker's Prometheus metrics, read from its WorkerStats
// when scraped (nothing is counted twice), and three histograms fed as
// the worker goes: the store's latency (WorkerStats.ObserveStore), the
// time from publication to commit (ObserveLatency) and the rebuild lag
// (ObserveRebuildLag). A registry of
// its own: no global state.
type Metrics struct {
	reg                 *prometheus.Registry
	stats               *WorkerStats
	store, latency, lag prometheus.Histogram
}

// NewMetrics returns the metrics of stats and hooks the store's latency
// histogram to it.
func NewMetrics(stats *WorkerStats) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry(), stats: stats}
	m.store = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "spoor_fleet_store_commit_seconds",
		Help:    "Time of a worker's store commits (one transaction per commit, retries included).",
		Buckets: prometheus.ExponentialBuckets(0.001, 2, 16),
	})
	m.latency = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "spoor_fleet_latency_seconds",
		Help:    "Time from a batch's storing in the stream to the commit of its detections.",
		Buckets: prometheus.ExponentialBuckets(0.01, 2, 14),
	})
	m.lag = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "spoor_fleet_rebuild_lag_seconds",
		Help:    "Time from the first commit to a case its operations do not show to the end of the rebuild that shows it.",
		Buckets: prometheus.ExponentialBuckets(0.1, 2, 14),
	})
	stats.ObserveStore = m.store.Observe
	stats.ObserveLatency = m.latency.Observe
	stats.ObserveRebuildLag = m.lag.Observe
	m.reg.MustRegister(m.store, m.latency, m.lag, (*statsCollector)(m))
	return m
}

// Handler serves the metrics in Prometheus's text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// statsCollector reads the WorkerStats at each scrape.
type statsCollector Metrics

var (
	descEvents     = prometheus.NewDesc("spoor_fleet_events_total", "Events hunted.", nil, nil)
	descMessages   = prometheus.NewDesc("spoor_fleet_messages_total", "Batches (messages) taken from the stream.", nil, nil)
	descDetections = prometheus.NewDesc("spoor_fleet_detections_total", "Detections stored (new ones: a detection stored again is not counted).", nil, nil)
	descCommits    = prometheus.NewDesc("spoor_fleet_commits_total", "Store commits (each acknowledges its messages).", nil, nil)
	descBad        = prometheus.NewDesc("spoor_fleet_bad_messages_total", "Messages refused as not batches (terminated, never delivered again).", nil, nil)
	descStoreErr   = prometheus.NewDesc("spoor_fleet_store_errors_total", "Store commits that failed and were retried.", nil, nil)
	descRebuilds   = prometheus.NewDesc("spoor_fleet_rebuilds_total", "Rebuilds of a case's correlations and operations.", nil, nil)
	descOversize   = prometheus.NewDesc("spoor_fleet_oversize_total", "Detections left out, larger than the store takes.", nil, nil)
	descOwned      = prometheus.NewDesc("spoor_fleet_partitions_owned", "Partitions this worker holds the lease of.", nil, nil)
	descDirty      = prometheus.NewDesc("spoor_fleet_cases_waiting_rebuild", "Cases whose operations wait to be rebuilt.", nil, nil)
	descLag        = prometheus.NewDesc("spoor_fleet_consumer_lag", "Messages of a partition not yet delivered, when it was last fetched from.", []string{"partition"}, nil)
)

// Describe implements prometheus.Collector.
func (c *statsCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descEvents, descMessages, descDetections, descCommits, descBad, descStoreErr, descRebuilds, descOversize, descOwned, descDirty, descLag} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *statsCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.stats
	counter := func(d *prometheus.Desc, v int64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v))
	}
	counter(descEvents, s.Events.Load())
	counter(descMessages, s.Messages.Load())
	counter(descDetections, s.Detections.Load())
	counter(descCommits, s.Commits.Load())
	counter(descBad, s.BadMessages.Load())
	counter(descStoreErr, s.StoreErrors.Load())
	counter(descRebuilds, s.Rebuilds.Load())
	counter(descOversize, s.Oversize.Load())
	owned := s.Owned.Load()
	n := 0
	for p := range Partitions {
		if owned&(1<<p) != 0 {
			n++
			ch <- prometheus.MustNewConstMetric(descLag, prometheus.GaugeValue, float64(s.Lag[p].Load()), strconv.Itoa(p))
		}
	}
	ch <- prometheus.MustNewConstMetric(descOwned, prometheus.GaugeValue, float64(n))
	ch <- prometheus.MustNewConstMetric(descDirty, prometheus.GaugeValue, float64(s.Dirty.Load()))
}
