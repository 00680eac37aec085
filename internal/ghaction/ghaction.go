// Package ghaction is the project's one door to GitHub Actions: inputs,
// outputs, state for the post step, masks, log groups, annotations and the
// step summary. It is the only importer of go-githubactions.
//
// Unlike the library, nothing here panics or exits: every file command
// returns an error, and a write failure on the log stream is reported, not
// raised.
package ghaction

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"

	githubactions "github.com/sethvargo/go-githubactions"
)

// Action talks to the runner through the process's stdout and the file
// commands named by its environment.
type Action struct {
	mu     sync.Mutex
	a      *githubactions.Action
	getenv func(string) string
}

// New returns an Action writing workflow commands to w and reading inputs,
// file-command paths and state from getenv. When w is a Guard's text
// writer, the commands go through the Guard's command writer.
func New(w io.Writer, getenv func(string) string) *Action {
	if t, ok := w.(interface{ commands() io.Writer }); ok {
		w = t.commands()
	}
	return &Action{
		a:      githubactions.New(githubactions.WithWriter(w), githubactions.WithGetenv(getenv)),
		getenv: getenv,
	}
}

// InActions reports whether the process runs as a GitHub Actions step.
func InActions(getenv func(string) string) bool {
	return getenv("GITHUB_ACTIONS") == "true"
}

// Input returns the input's value, trimmed. The runner exports an input
// "api-key" as INPUT_API-KEY, hyphen kept. An unset input reads as "".
func (a *Action) Input(name string) string {
	return a.a.GetInput(name)
}

// MaxInputBytes bounds every input: a larger value is refused rather than
// parsed, so a mistaken paste of a large file fails clearly.
const MaxInputBytes = 256 << 10

// InputError says which input is wrong and what would be valid.
type InputError struct {
	Input string
	Msg   string
}

func (e *InputError) Error() string { return fmt.Sprintf("input %q: %s", e.Input, e.Msg) }

// CheckedInput returns the input, or an *InputError when it is too large.
func (a *Action) CheckedInput(name string) (string, error) {
	v := a.Input(name)
	if len(v) > MaxInputBytes {
		return "", &InputError{Input: name, Msg: fmt.Sprintf("value is %d bytes; at most %d are accepted", len(v), MaxInputBytes)}
	}
	return v, nil
}

// BoolInput parses a boolean input the way actions/toolkit's getBooleanInput
// does: the YAML 1.2 core schema's true|True|TRUE|false|False|FALSE. An
// empty input gives def.
func (a *Action) BoolInput(name string, def bool) (bool, error) {
	v, err := a.CheckedInput(name)
	if err != nil {
		return false, err
	}
	switch v {
	case "":
		return def, nil
	case "true", "True", "TRUE":
		return true, nil
	case "false", "False", "FALSE":
		return false, nil
	}
	return false, &InputError{Input: name, Msg: fmt.Sprintf("%q is not a boolean; use true or false (YAML 1.2 core schema: true|True|TRUE|false|False|FALSE)", v)}
}

// IntInput parses a non-negative integer input; empty gives def.
func (a *Action) IntInput(name string, def int) (int, error) {
	v, err := a.CheckedInput(name)
	if err != nil {
		return 0, err
	}
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, &InputError{Input: name, Msg: fmt.Sprintf("%q is not a whole number >= 0", v)}
	}
	return n, nil
}

// ListInput splits a multi-line input into its non-empty lines, trimmed.
// Lines starting with # are comments. Commas also separate items when
// commas is true (for name lists such as only/except).
func (a *Action) ListInput(name string, commas bool) ([]string, error) {
	v, err := a.CheckedInput(name)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, line := range strings.Split(v, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		items := []string{line}
		if commas {
			items = strings.Split(line, ",")
		}
		for _, it := range items {
			if it = strings.TrimSpace(it); it != "" {
				out = append(out, it)
			}
		}
	}
	return out, nil
}

// State returns a value saved by SaveState in an earlier stage of this step.
// The runner passes it as STATE_<name>, case kept; go-githubactions has no
// reader for it.
func (a *Action) State(name string) string {
	return a.getenv("STATE_" + name)
}

// guard runs fn, turning the library's panics on a failed write into errors.
func (a *Action) guard(what string, fn func()) (err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	defer func() {
		if r := recover(); r != nil {
			if e, ok := r.(error); ok {
				err = fmt.Errorf("%s: %w", what, e)
				return
			}
			err = fmt.Errorf("%s: %v", what, r)
		}
	}()
	fn()
	return nil
}

// ErrNoFileCommand is returned when a file command's variable is unset, as
// when the binary runs outside a runner.
var ErrNoFileCommand = errors.New("file command unavailable")

// delimiter is go-githubactions' fixed heredoc delimiter; a value holding it
// would end the value early and inject further outputs.
const delimiter = "_GitHubActionsFileCommandDelimeter_"

func (a *Action) fileCommand(envName, what, value string, fn func()) error {
	if a.getenv(envName) == "" {
		return fmt.Errorf("%s: %s is not set: %w", what, envName, ErrNoFileCommand)
	}
	if strings.Contains(value, delimiter) {
		return fmt.Errorf("%s: value contains the file-command delimiter", what)
	}
	return a.guard(what, fn)
}

// SetOutput sets a step output through GITHUB_OUTPUT.
func (a *Action) SetOutput(name, value string) error {
	return a.fileCommand("GITHUB_OUTPUT", "set output "+name, name+value, func() { a.a.SetOutput(name, value) })
}

// SaveState saves a value for the post step through GITHUB_STATE.
func (a *Action) SaveState(name, value string) error {
	return a.fileCommand("GITHUB_STATE", "save state "+name, name+value, func() { a.a.SaveState(name, value) })
}

// AddStepSummary appends Markdown to the job summary.
func (a *Action) AddStepSummary(markdown string) error {
	return a.fileCommand("GITHUB_STEP_SUMMARY", "add step summary", markdown, func() { a.a.AddStepSummary(markdown) })
}

// Mask asks the runner to mask value in all later log output.
func (a *Action) Mask(value string) error {
	if strings.TrimSpace(value) == "" {
		return nil
	}
	// The runner masks per line: a multi-line secret is masked line by line.
	var errs []error
	for _, line := range strings.Split(value, "\n") {
		// PEM armour ("-----BEGIN ... KEY-----") is public boilerplate.
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "-----") {
			errs = append(errs, a.guard("add mask", func() { a.a.AddMask(line) }))
		}
	}
	return errors.Join(errs...)
}

// Group opens a collapsible log group.
func (a *Action) Group(title string) error {
	return a.guard("start group", func() { a.a.Group(title) })
}

// EndGroup closes the open log group.
func (a *Action) EndGroup() error {
	return a.guard("end group", func() { a.a.EndGroup() })
}

// Level is an annotation level.
type Level int

// Annotation levels.
const (
	LevelDebug Level = iota
	LevelNotice
	LevelWarning
	LevelError
)

// Location places an annotation in a file of the repository.
type Location struct {
	File      string
	Line      int
	Col       int
	EndLine   int
	EndColumn int
	Title     string
}

func (l Location) fields() map[string]string {
	m := map[string]string{}
	if l.File != "" {
		m["file"] = l.File
	}
	put := func(k string, v int) {
		if v > 0 {
			m[k] = strconv.Itoa(v)
		}
	}
	put("line", l.Line)
	put("col", l.Col)
	put("endLine", l.EndLine)
	put("endColumn", l.EndColumn)
	if l.Title != "" {
		m["title"] = l.Title
	}
	return m
}

// Annotate writes an annotation (::error file=…,line=…::msg).
func (a *Action) Annotate(level Level, msg string, loc Location) error {
	act := a.a
	if f := loc.fields(); len(f) > 0 {
		act = act.WithFieldsMap(f)
	}
	return a.guard("annotate", func() {
		switch level {
		case LevelDebug:
			act.Debugf("%s", msg)
		case LevelNotice:
			act.Noticef("%s", msg)
		case LevelWarning:
			act.Warningf("%s", msg)
		default:
			act.Errorf("%s", msg)
		}
	})
}

// Debug writes a ::debug:: line; the runner shows it only when step debug
// logging is on.
func (a *Action) Debug(msg string) error { return a.Annotate(LevelDebug, msg, Location{}) }

// DebugEnabled reports whether ACTIONS_STEP_DEBUG or RUNNER_DEBUG is on.
func (a *Action) DebugEnabled() bool {
	return a.getenv("RUNNER_DEBUG") == "1" || strings.EqualFold(a.getenv("ACTIONS_STEP_DEBUG"), "true")
}

// Getenv exposes the injected environment, for the runner's own variables
// (GITHUB_WORKSPACE, GITHUB_RUN_ID, ...).
func (a *Action) Getenv(name string) string { return a.getenv(name) }
