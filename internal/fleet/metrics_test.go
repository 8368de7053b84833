package fleet

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestMetrics: a scrape reads the worker's counts as they are then, the
// lag of each partition it owns, and the histograms of the store's
// latency, of publication to commit and of the rebuild lag.
func TestMetrics(t *testing.T) {
	stats := new(WorkerStats)
	m := NewMetrics(stats)
	stats.Events.Add(1234)
	stats.Detections.Add(5)
	stats.Owned.Store(1<<3 | 1<<7)
	stats.Lag[7].Store(42)
	stats.ObserveStore(0.02)
	stats.ObserveLatency(0.8)
	stats.ObserveLatency(1.4)
	stats.ObserveRebuildLag(2)
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	res, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	for _, want := range []string{
		"spoor_fleet_events_total 1234",
		"spoor_fleet_detections_total 5",
		"spoor_fleet_partitions_owned 2",
		`spoor_fleet_consumer_lag{partition="7"} 42`,
		`spoor_fleet_consumer_lag{partition="3"} 0`,
		"spoor_fleet_store_commit_seconds_count 1",
		"spoor_fleet_latency_seconds_count 2",
		"spoor_fleet_latency_seconds_sum 2.2",
		"spoor_fleet_rebuild_lag_seconds_count 1",
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("no %q in:\n%s", want, body)
		}
	}
}
