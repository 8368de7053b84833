package ruletest

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/spoor-hunt/spoor/internal/detect"
	"github.com/spoor-hunt/spoor/internal/event"
	"github.com/spoor-hunt/spoor/internal/ruleset"
	"github.com/spoor-hunt/spoor/internal/shared"
	"github.com/spoor-hunt/spoor/internal/sigma"
)

// TestHayabusaSamples runs each Hayabusa rule, compiled alone with the
// default pipeline, on the event its author gave as an example
// (sample-evtx, the XML rendering of a real record): at least 90% must
// fire. It checks what loading and compiling a real pack does with its own
// data (logsource routes, field names, modifiers), as SigmaHQ's regression
// data does for SigmaHQ's rules. The margin: not every sample is a positive
// example (one is excluded by its rule's own filter, one predates a field
// its rule requires, one rule's logsource names another log than its
// Channel), and three rules name UserData fields by Hayabusa's own aliases
// (config/eventkey_alias.txt), which the pipeline does not map. Each rule
// that does not fire is logged with the event's fields.
func TestHayabusaSamples(t *testing.T) {
	dir := filepath.Join(shared.Path(t, "datasets"), "hayabusa-rules", "hayabusa")
	set, err := ruleset.Load([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	samples, fired, unreadable := 0, 0, 0
	for _, r := range set.Rules {
		sample := strings.TrimSpace(r.Custom["sample-evtx"])
		if !strings.HasPrefix(sample, "<") {
			continue // absent, or a note instead of an event
		}
		ev, err := xmlEvent(sample)
		if err != nil {
			// Some samples are a fragment or not well-formed XML.
			unreadable++
			t.Logf("%s: sample-evtx not read: %v", r.Pos.File, err)
			continue
		}
		samples++
		eng, errs := detect.Compile([]*sigma.Rule{r}, nil, detect.Options{Router: detect.DefaultPipeline()})
		if len(errs) > 0 {
			t.Errorf("%s: %v", r.Pos.File, errs[0])
			continue
		}
		if len(eng.NewMatcher().Match(ev, nil)) == 0 {
			t.Logf("%s: rule %s (%s) does not fire on its sample-evtx: %s", r.Pos.File, r.ID, r.Title, fieldList(ev))
			continue
		}
		fired++
	}
	if samples < 100 || unreadable > 5 {
		t.Errorf("got %d samples read, %d not read, want at least 100 read and at most 5 not", samples, unreadable)
	}
	if fired*100 < samples*90 {
		t.Errorf("got %d of %d Hayabusa rules firing on their sample-evtx, want at least 90%%", fired, samples)
	}
	t.Logf("%d of %d Hayabusa rules with a sample-evtx fire on it (%d samples not read)", fired, samples, unreadable)
}

// xmlEvent reads an event rendered as Windows event XML into the fields an
// EVTX reader gives (event.Event): the System fields under their Sigma
// names, EventData's named Data by name, unnamed Data as one Data field,
// UserData's leaves by element name. Numbers of the System section become
// numbers; every other value stays a string, as XML gives no type.
func xmlEvent(text string) (*event.Event, error) {
	dec := xml.NewDecoder(strings.NewReader(text))
	dec.Strict = false // samples hold "&PID_0003" unescaped
	dec.CharsetReader = func(_ string, r io.Reader) (io.Reader, error) {
		return r, nil // the text is UTF-8 whatever the declaration says
	}
	ev := &event.Event{}
	var path []string // open elements
	var dataName string
	var unnamed []event.Value
	var chars strings.Builder
	leaf := true
	add := func(name string, v event.Value) {
		if _, dup := ev.Get(name); !dup {
			ev.Add(name, v)
		}
	}
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			path = append(path, tok.Name.Local)
			chars.Reset()
			leaf = true
			dataName = ""
			if len(path) == 3 && path[1] == "System" {
				for _, a := range tok.Attr {
					name := a.Name.Local
					switch tok.Name.Local + "." + name {
					case "Provider.Name", "Provider.Guid":
						name = "Provider_" + name
					case "TimeCreated.SystemTime":
						name = event.FieldTimeCreated
					}
					add(name, systemValue(name, a.Value))
				}
			}
			for _, a := range tok.Attr {
				if tok.Name.Local == "Data" && a.Name.Local == "Name" {
					dataName = a.Value
				}
			}
		case xml.CharData:
			chars.Write(tok)
		case xml.EndElement:
			name := path[len(path)-1]
			text := strings.TrimSpace(chars.String())
			switch {
			case len(path) == 3 && path[1] == "System":
				if text != "" {
					add(name, systemValue(name, text))
				}
			case len(path) == 3 && path[1] == "EventData" && name == "Data" && dataName != "":
				add(dataName, event.StringValue(text))
			case len(path) == 3 && path[1] == "EventData" && name == "Data":
				unnamed = append(unnamed, event.StringValue(text))
			case len(path) > 2 && path[1] == "UserData" && leaf:
				if _, taken := ev.Get(name); taken {
					name = "UserData_" + name // as the EVTX reader names it
				}
				add(name, event.StringValue(text))
			}
			path = path[:len(path)-1]
			leaf = false
			chars.Reset()
		}
	}
	if len(unnamed) > 0 {
		add("Data", event.ListValue(unnamed))
	}
	if _, ok := ev.Get("EventID"); !ok {
		return nil, fmt.Errorf("no EventID in %.80q", text)
	}
	return ev, nil
}

// systemValue types a System field as an EVTX reader does.
func systemValue(name, s string) event.Value {
	switch name {
	case "EventID", "Version", "Level", "Task", "Opcode", "EventRecordID", "ProcessID", "ThreadID", "Qualifiers":
		if n, err := strconv.ParseUint(s, 10, 64); err == nil {
			return event.UintValue(n)
		}
	}
	return event.StringValue(s)
}

func fieldList(ev *event.Event) string {
	var b strings.Builder
	for _, f := range ev.Fields {
		fmt.Fprintf(&b, "%s=%.60q ", f.Name, f.Value.String())
	}
	return b.String()
}
