package sigma

import (
	"errors"
	"testing"
)

func TestParseCondition(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"selection", "selection"},
		{"sel-1.a_b", "sel-1.a_b"},
		{"a and b", "(a and b)"},
		{"a or b", "(a or b)"},
		{"not a", "not a"},
		{"not not a", "not not a"},
		{"a and b and c", "(a and b and c)"},
		{"a or b or c", "(a or b or c)"},
		// Precedence: or < and < not < x of < parentheses.
		{"a or b and not c", "(a or (b and not c))"},
		{"a and b or c", "((a and b) or c)"},
		{"not a and b", "(not a and b)"},
		{"not a or b", "(not a or b)"},
		{"not (a or b)", "not (a or b)"},
		{"a and (b or c)", "(a and (b or c))"},
		{"(a and b) and c", "((a and b) and c)"},
		{"((a))", "a"},
		{"1 of them", "1 of them"},
		{"all of them", "all of them"},
		{"any of them", "1 of them"},
		{"1 of sel_*", "1 of sel_*"},
		{"all of filter_*", "all of filter_*"},
		{"1 of *", "1 of *"},
		{"1 of sel* and not 1 of filter*", "(1 of sel* and not 1 of filter*)"},
		{"not 1 of filter*", "not 1 of filter*"},
		{"selection and not all of filter_*", "(selection and not all of filter_*)"},
		{"1 of selection* and keywords", "(1 of selection* and keywords)"},
		{"(1 of a*) or b", "(1 of a* or b)"},
		// Keywords are case-insensitive.
		{"A AND NOT B Or C", "((A and not B) or C)"},
		{"ALL OF Them", "all of them"},
		{"1 OF sel*", "1 of sel*"},
		{"  a\tand\nb  ", "(a and b)"},
	}
	for _, tt := range tests {
		e, err := ParseCondition(tt.in)
		if err != nil {
			t.Errorf("ParseCondition(%q): got error %v, want %s", tt.in, err, tt.want)
			continue
		}
		if got := e.String(); got != tt.want {
			t.Errorf("ParseCondition(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestParseConditionTree(t *testing.T) {
	e, err := ParseCondition("a or b and not c")
	if err != nil {
		t.Fatal(err)
	}
	or, ok := e.(*OrExpr)
	if !ok || len(or.Operands) != 2 {
		t.Fatalf("got %#v, want or with 2 operands", e)
	}
	if id, ok := or.Operands[0].(*IdentExpr); !ok || id.Name != "a" {
		t.Errorf("got first operand %#v, want IdentExpr a", or.Operands[0])
	}
	and, ok := or.Operands[1].(*AndExpr)
	if !ok || len(and.Operands) != 2 {
		t.Fatalf("got second operand %#v, want and with 2 operands", or.Operands[1])
	}
	not, ok := and.Operands[1].(*NotExpr)
	if !ok {
		t.Fatalf("got %#v, want NotExpr", and.Operands[1])
	}
	if id, ok := not.Operand.(*IdentExpr); !ok || id.Name != "c" {
		t.Errorf("got %#v, want IdentExpr c", not.Operand)
	}
	e, err = ParseCondition("all of sel_*")
	if err != nil {
		t.Fatal(err)
	}
	if of, ok := e.(*OfExpr); !ok || !of.All || of.Pattern != "sel_*" {
		t.Errorf("got %#v, want OfExpr{All: true, Pattern: sel_*}", e)
	}
}

func TestParseConditionErrors(t *testing.T) {
	tests := []struct {
		in  string
		col int
	}{
		{"", 1},
		{"   ", 1},
		{"a and", 6},
		{"and a", 1},
		{"a b", 3},
		{"(a", 1},
		{"a)", 2},
		{"()", 2},
		{"a and (b or c", 7},
		{"a and (b c)", 10},
		{"not", 4},
		{"1 of", 5},
		{"1 sel*", 3},
		{"all of (a)", 8},
		{"2 of sel*", 1},
		{"sel*", 1},
		{"a & b", 3},
		{"a or or b", 6},
		{"selection | count() by User > 5", 11},
		{"selection | count(User) > 10", 11},
		{"sel1 near sel2", 6},
		{"count(x) by y > 5 and sel", 1},
		{"a and b\x00", 8},
		{"a \xff", 3},
		{"them", 1},
		{"of a", 1},
	}
	for _, tt := range tests {
		_, err := ParseCondition(tt.in)
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("ParseCondition(%q): got error %v, want a *SyntaxError at column %d", tt.in, err, tt.col)
			continue
		}
		if se.Column != tt.col {
			t.Errorf("ParseCondition(%q): got column %d (%v), want %d", tt.in, se.Column, se, tt.col)
		}
	}
}

func TestParseConditionDeep(t *testing.T) {
	deep := ""
	for range 10000 {
		deep += "("
	}
	if _, err := ParseCondition(deep + "a"); err == nil {
		t.Errorf("got no error for 10000 nested parentheses, want one")
	}
	nots := ""
	for range 10000 {
		nots += "not "
	}
	if _, err := ParseCondition(nots + "a"); err == nil {
		t.Errorf("got no error for 10000 nested nots, want one")
	}
}

func TestOfExprMatch(t *testing.T) {
	tests := []struct {
		pattern, name string
		want          bool
	}{
		{"them", "selection", true},
		{"them", "_private", false},
		{"sel*", "selection", true},
		{"sel*", "sel", true},
		{"sel*", "filter", false},
		{"*", "_private", true},
		{"*_main", "filter_main", true},
		{"*_main", "filter_main2", false},
		{"a*b*c", "aXXbYYc", true},
		{"a*b*c", "aXXbYY", false},
		{"sel", "sel", true},
		{"sel", "selection", false},
	}
	for _, tt := range tests {
		o := &OfExpr{Pattern: tt.pattern}
		if got := o.Match(tt.name); got != tt.want {
			t.Errorf("OfExpr{%q}.Match(%q) = %v, want %v", tt.pattern, tt.name, got, tt.want)
		}
	}
}
