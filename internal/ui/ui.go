// Package ui writes a build's log: Packer-style lines for people
// ("==> vultr: Creating instance..."), GitHub Actions log groups and
// annotations when running as an action, and Packer's machine-readable
// "timestamp,target,type,data" lines with -machine-readable. Every byte goes
// through the run's redactor first.
package ui

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/vultr-image-action/vultr-image-action/internal/ghaction"
	"github.com/vultr-image-action/vultr-image-action/internal/redact"
	"github.com/vultr-image-action/vultr-image-action/internal/spec"
)

// Options configures a Console.
type Options struct {
	Out      io.Writer
	Redactor *redact.Redactor
	// Action, when set, turns phases into ::group:: blocks and problems into
	// annotations.
	Action *ghaction.Action
	// Groups enables ::group:: blocks. Turn it off when builds run in
	// parallel: GitHub groups cannot interleave.
	Groups bool
	// MachineReadable switches to Packer's machine-readable format.
	MachineReadable bool
	// Color adds ANSI colour to human output.
	Color bool
	// Debug shows Debug lines (with -debug or ACTIONS_STEP_DEBUG).
	Debug bool
	// Now is the clock for machine-readable timestamps.
	Now func() time.Time
	// Workspace, when set, is stripped from annotation paths so GitHub can
	// place them in the repository.
	Workspace string
	// Timestamps prefixes human lines with the time (-timestamp-ui).
	Timestamps bool
	// Log, when set, receives every debug line (PACKER_LOG), redacted.
	Log io.Writer
}

// Console is the log of one run. It is safe for concurrent use by parallel
// builds: each line is written whole.
type Console struct {
	o  Options
	mu sync.Mutex
}

// New returns a Console.
func New(o Options) *Console {
	if o.Redactor == nil {
		o.Redactor = redact.New()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Console{o: o}
}

// Redactor returns the run's redactor.
func (c *Console) Redactor() *redact.Redactor { return c.o.Redactor }

func (c *Console) write(s string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.o.Timestamps && !c.o.MachineReadable {
		s = c.stamp(s)
	}
	_, _ = io.WriteString(c.o.Out, c.o.Redactor.String(s))
}

// stamp prefixes each line of s with the time, as Packer's -timestamp-ui.
func (c *Console) stamp(s string) string {
	ts := c.o.Now().Format(time.RFC3339) + ": "
	lines := strings.SplitAfter(s, "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = ts + l
		}
	}
	return strings.Join(lines, "")
}

func (c *Console) machine(target, typ string, data ...string) {
	parts := []string{fmt.Sprint(c.o.Now().Unix()), target, typ}
	for _, d := range data {
		d = strings.ReplaceAll(d, ",", "%!(PACKER_COMMA)")
		d = strings.ReplaceAll(d, "\r", "\\r")
		d = strings.ReplaceAll(d, "\n", "\\n")
		parts = append(parts, d)
	}
	c.write(strings.Join(parts, ",") + "\n")
}

const (
	bold   = "\x1b[1m"
	green  = "\x1b[32m"
	yellow = "\x1b[33m"
	red    = "\x1b[31m"
	reset  = "\x1b[0m"
)

func (c *Console) paint(color, s string) string {
	if !c.o.Color {
		return s
	}
	return color + s + reset
}

// Say reports a step of a build: "==> name: msg".
func (c *Console) Say(build, msg string) {
	if c.o.MachineReadable {
		c.machine(build, "ui", "say", "==> "+build+": "+msg)
		return
	}
	c.write(c.paint(bold, "==> "+build+": "+msg) + "\n")
}

// Message reports detail under a step: "    name: msg".
func (c *Console) Message(build, msg string) {
	if c.o.MachineReadable {
		c.machine(build, "ui", "message", "    "+build+": "+msg)
		return
	}
	for _, line := range splitLines(strings.TrimRight(msg, "\r\n")) {
		c.write("    " + build + ": " + line + "\n")
	}
}

// Phase starts a named phase of a build. In GitHub Actions it opens a log
// group titled "<build>: <phase>"; the returned func closes it.
func (c *Console) Phase(build, phase string) (end func()) {
	if c.o.Action != nil && c.o.Groups && !c.o.MachineReadable {
		c.mu.Lock()
		_ = c.o.Action.Group(c.o.Redactor.String(build + ": " + phase))
		c.mu.Unlock()
		return func() {
			c.mu.Lock()
			_ = c.o.Action.EndGroup()
			c.mu.Unlock()
		}
	}
	c.Say(build, phase)
	return func() {}
}

// Warn reports a warning, as an annotation in Actions.
func (c *Console) Warn(build, msg string, pos spec.Pos) {
	c.problem(ghaction.LevelWarning, build, msg, pos, spec.Pos{}, "")
}

// Error reports an error, as an annotation with a title in Actions.
func (c *Console) Error(build, msg string, pos spec.Pos, title string) {
	c.problem(ghaction.LevelError, build, msg, pos, spec.Pos{}, title)
}

// Diagnostic reports a template problem; in Actions its annotation spans
// the diagnostic's whole range (endLine, endColumn) when it has one.
func (c *Console) Diagnostic(d spec.Diagnostic, title string) {
	msg := d.Error()
	if d.Snippet != "" && c.o.Action == nil {
		msg += "\n" + d.Snippet
	}
	level := ghaction.LevelError
	if d.Severity == spec.Warning {
		level = ghaction.LevelWarning
	}
	c.problem(level, "", msg, d.Pos, d.End, title)
}

func (c *Console) problem(level ghaction.Level, build, msg string, pos, end spec.Pos, title string) {
	msg = c.o.Redactor.String(msg)
	if c.o.MachineReadable {
		typ := "error"
		if level == ghaction.LevelWarning {
			typ = "ui"
			msg = "Warning: " + msg
			c.machine(build, typ, "say", msg)
			return
		}
		c.machine(build, typ, msg)
		return
	}
	if c.o.Action != nil {
		loc := ghaction.Location{Title: c.o.Redactor.String(title)}
		if pos.Line > 0 {
			loc.File = c.relative(pos.File)
			loc.Line, loc.Col = pos.Line, pos.Col
			if end.Line > 0 {
				loc.EndLine, loc.EndColumn = end.Line, end.Col
			}
		}
		if build != "" {
			msg = build + ": " + msg
		}
		c.mu.Lock()
		_ = c.o.Action.Annotate(level, msg, loc)
		c.mu.Unlock()
		return
	}
	prefix, color := "Error: ", red
	if level == ghaction.LevelWarning {
		prefix, color = "Warning: ", yellow
	}
	if build != "" {
		prefix = "==> " + build + ": " + prefix
	}
	if p := pos.String(); p != "" && pos.Line > 0 && !strings.HasPrefix(msg, p) {
		msg = p + ": " + msg
	}
	c.write(c.paint(color, prefix+msg) + "\n")
}

// relative maps a template path inside the workspace to a repository path.
func (c *Console) relative(path string) string {
	if w := strings.TrimSuffix(c.o.Workspace, "/"); w != "" && strings.HasPrefix(path, w+"/") {
		return strings.TrimPrefix(path, w+"/")
	}
	return path
}

// Debug reports API calls and timings when debugging is on.
func (c *Console) Debug(msg string) {
	msg = c.o.Redactor.String(msg)
	if c.o.Log != nil {
		c.mu.Lock()
		_, _ = fmt.Fprintf(c.o.Log, "%s [DEBUG] %s\n", c.o.Now().Format("2006/01/02 15:04:05"), msg)
		c.mu.Unlock()
	}
	if !c.o.Debug {
		return
	}
	switch {
	case c.o.MachineReadable:
		c.machine("", "ui", "message", "[DEBUG] "+msg)
	case c.o.Action != nil:
		c.mu.Lock()
		_ = c.o.Action.Debug(msg)
		c.mu.Unlock()
	default:
		c.write("[DEBUG] " + msg + "\n")
	}
}

// Success reports a finished build.
func (c *Console) Success(build, msg string) {
	if c.o.MachineReadable {
		c.machine(build, "ui", "say", msg)
		return
	}
	c.write(c.paint(green, msg) + "\n")
}

// Raw writes pre-formatted text (the final artifact list).
func (c *Console) Raw(s string) { c.write(s) }

// Machine writes one machine-readable line when that mode is on; it reports
// whether it did.
func (c *Console) Machine(target, typ string, data ...string) bool {
	if !c.o.MachineReadable {
		return false
	}
	c.machine(target, typ, data...)
	return true
}

// Output returns a writer for a build's remote or local command output: each
// line is shown as "    name: line". Close it to flush a last partial line.
func (c *Console) Output(build string) io.WriteCloser {
	return &lineWriter{c: c, build: build}
}

type lineWriter struct {
	c     *Console
	build string
	mu    sync.Mutex
	buf   []byte
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		line, rest, ok := cutLine(w.buf)
		if !ok {
			break
		}
		w.buf = rest
		if line != nil {
			w.c.Message(w.build, string(line))
		}
	}
	// Bound memory on output without newlines. The line is cut where no
	// secret straddles the cut, so each part is masked whole (the runner's
	// own masking works line by line and would miss the halves).
	if len(w.buf) > maxLine {
		cut := w.c.o.Redactor.SafeCut(w.buf)
		w.c.Message(w.build, string(w.buf[:cut]))
		w.buf = append(w.buf[:0], w.buf[cut:]...)
	}
	return len(p), nil
}

// cutLine takes the first line off buf, ended as the runner ends lines: at
// "\n", "\r\n" or a lone "\r" (a progress bar's redraw), so that no
// text after a "\r" ever starts a line of the log. A "\r" at the end of
// buf waits for what follows. line is nil for the empty redraw of a
// repeated "\r".
func cutLine(buf []byte) (line, rest []byte, ok bool) {
	i := bytes.IndexAny(buf, "\r\n")
	switch {
	case i < 0:
		return nil, buf, false
	case buf[i] == '\n':
		return buf[:i:i], buf[i+1:], true
	case i+1 == len(buf):
		return nil, buf, false
	case buf[i+1] == '\n':
		return buf[:i:i], buf[i+2:], true
	case i == 0:
		return nil, buf[1:], true
	}
	return buf[:i:i], buf[i+1:], true
}

// maxLine is how much of a line without a newline is held before part of
// it is shown.
const maxLine = 64 << 10

// splitLines splits s where the runner ends lines: "\n", "\r\n", "\r".
func splitLines(s string) []string {
	return strings.Split(strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n"), "\n")
}

func (w *lineWriter) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if b := bytes.TrimRight(w.buf, "\r"); len(b) > 0 {
		w.c.Message(w.build, string(b))
	}
	w.buf = nil
	return nil
}
