package correlate

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"
)

// BenchmarkRun runs an event_count, a value_count and a median correlation
// over 100,000 inputs in 100 groups spread over a day, in random order.
func BenchmarkRun(b *testing.B) {
	docs := baseRules("fail") +
		corrDoc("many", "event_count", "fail", "Ip", "5m", "gte: 50") +
		corrDoc("spray", "value_count", "fail", "Ip", "5m", "gte: 20, field: User") +
		corrDoc("few", "event_count", "fail", "Ip", "5m", "lt: 2") +
		corrDoc("med", "value_median", "fail", "Ip", "5m", "gt: 900, field: Bytes")
	t := &testing.T{}
	s := mustCompile(t, docs)
	rng := rand.New(rand.NewPCG(3, 4))
	inputs := make([]Input, 100_000)
	for i := range inputs {
		inputs[i] = Input{RuleName: "fail", Time: t0.Add(time.Duration(rng.Int64N(int64(24 * time.Hour)))), Fields: map[string]string{
			"Ip":    fmt.Sprintf("10.0.0.%d", rng.IntN(100)),
			"User":  "u" + strconv.Itoa(rng.IntN(500)),
			"Bytes": strconv.Itoa(rng.IntN(1000)),
		}}
	}
	b.ReportAllocs()
	var n int
	for b.Loop() {
		n = len(mustRun(b, s, inputs))
	}
	b.ReportMetric(float64(n), "matches")
}
