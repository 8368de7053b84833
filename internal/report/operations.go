package report

import (
	"encoding/json"
	"io"
	"time"

	"github.com/spoor-hunt/spoor/internal/result"
)

// OperationsDocument is what Operations writes: the operations of a hunt,
// each with its detections in full (in a Result, an operation holds their
// indices in Result.Detections).
type OperationsDocument struct {
	Tool    string    `json:"tool"`
	Version string    `json:"version,omitempty"`
	Started time.Time `json:"started"`
	Paths   []string  `json:"paths"`
	// Operations are highest score first, as in the Result.
	Operations []OperationDetail `json:"operations"`
}

// OperationDetail is an operation with its detections.
type OperationDetail struct {
	result.Operation
	// Detections are the operation's detections, in time order.
	Detections []result.Detection `json:"detections"`
	// Joins are the operation's joins, each naming its two detections by
	// their position in Detections (not in the hunt's Result).
	Joins []result.Join `json:"joins"`
}

// Operations writes the operations of r as one indented JSON document
// (spoor hunt --operations FILE).
func Operations(w io.Writer, r *result.Result) error {
	doc := OperationsDocument{Tool: r.Tool, Version: r.Version, Started: r.Started, Paths: r.Paths,
		Operations: make([]OperationDetail, 0, len(r.Operations))}
	for _, op := range r.Operations {
		d := OperationDetail{Operation: op, Detections: make([]result.Detection, 0, len(op.Detections))}
		pos := make(map[int]int, len(op.Detections))
		for k, i := range op.Detections {
			d.Detections = append(d.Detections, r.Detections[i])
			pos[i] = k
		}
		d.Joins = make([]result.Join, 0, len(op.Joins))
		for _, j := range op.Joins {
			j.Detections = [2]int{pos[j.Detections[0]], pos[j.Detections[1]]}
			d.Joins = append(d.Joins, j)
		}
		doc.Operations = append(doc.Operations, d)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(doc)
}
