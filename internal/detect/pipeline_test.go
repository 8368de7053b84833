package detect

import "testing"

func TestDefaultPipelineLoads(t *testing.T) {
	p := DefaultPipeline()
	if len(p.Logsources()) == 0 {
		t.Fatal("no routes")
	}
}
