package spec

import (
	"fmt"
	"strings"
)

// Severity of a diagnostic.
type Severity int

const (
	// Error diagnostics stop the build before anything is created.
	Error Severity = iota
	// Warning diagnostics are reported and the build goes on.
	Warning
)

func (s Severity) String() string {
	if s == Warning {
		return "warning"
	}
	return "error"
}

// Diagnostic is one problem found in a template, with where it is and what
// would be valid.
type Diagnostic struct {
	Severity Severity
	Pos      Pos
	End      Pos // optional end of the range (HCL2)
	// Path is the location in the template's structure, e.g.
	// "builders[0].plan_id".
	Path    string
	Summary string // one line: "unknown key \"plan_idd\""
	Detail  string // what would be valid: "did you mean \"plan_id\"?"
	// Snippet is the source line with a caret under the column, when known.
	Snippet string
}

// Error formats the diagnostic as "file:line:col: path: summary; detail".
func (d Diagnostic) Error() string {
	var b strings.Builder
	if p := d.Pos.String(); p != "" {
		b.WriteString(p)
		b.WriteString(": ")
	}
	if d.Path != "" {
		b.WriteString(d.Path)
		b.WriteString(": ")
	}
	b.WriteString(d.Summary)
	if d.Detail != "" {
		b.WriteString("; ")
		b.WriteString(d.Detail)
	}
	return b.String()
}

// Diagnostics is a list of problems. As an error it reports them all.
type Diagnostics []Diagnostic

// HasErrors reports whether any diagnostic is an error.
func (ds Diagnostics) HasErrors() bool {
	for _, d := range ds {
		if d.Severity == Error {
			return true
		}
	}
	return false
}

// Errors returns only the error diagnostics.
func (ds Diagnostics) Errors() Diagnostics {
	var out Diagnostics
	for _, d := range ds {
		if d.Severity == Error {
			out = append(out, d)
		}
	}
	return out
}

// Err returns ds as an error when it holds at least one error, else nil.
func (ds Diagnostics) Err() error {
	if !ds.HasErrors() {
		return nil
	}
	return ds.Errors()
}

func (ds Diagnostics) Error() string {
	switch n := len(ds); n {
	case 0:
		return "no problems"
	case 1:
		return ds[0].Error()
	default:
		lines := make([]string, 0, n+1)
		lines = append(lines, fmt.Sprintf("%d problems:", n))
		for _, d := range ds {
			lines = append(lines, "  "+d.Error())
		}
		return strings.Join(lines, "\n")
	}
}
