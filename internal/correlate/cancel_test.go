package correlate

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/spoor-hunt/spoor/internal/ctxtest"
)

func mustRun(t testing.TB, s *Set, inputs []Input) []Match {
	t.Helper()
	ms, err := s.Run(context.Background(), inputs)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return ms
}

// TestRunCancel checks that Set.Run returns the context's error, and no
// match, when it is cancelled before or while it runs.
func TestRunCancel(t *testing.T) {
	s := mustCompile(t, baseRules("fail")+corrDoc("many", "event_count", "fail", "Ip", "5m", "gte: 2"))
	inputs := make([]Input, 5*checkEvery)
	for i := range inputs {
		inputs[i] = Input{RuleName: "fail", Time: t0.Add(time.Duration(i) * 50 * time.Millisecond), Fields: map[string]string{"Ip": "10.0.0." + strconv.Itoa(i%(3*checkEvery))}}
	}
	if n := len(mustRun(t, s, inputs)); n == 0 {
		t.Fatal("no match without cancellation: the test proves nothing")
	}
	for _, tc := range []struct {
		name string
		ctx  context.Context
	}{
		{"before", ctxtest.Cancelled()},
		{"while grouping inputs", ctxtest.After(2)},
		{"while evaluating groups", ctxtest.After(5 + 1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ms, err := s.Run(tc.ctx, inputs)
			if !errors.Is(err, context.Canceled) || ms != nil {
				t.Errorf("got %d matches, err %v; want none, %v", len(ms), err, context.Canceled)
			}
		})
	}
}
