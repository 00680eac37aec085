// Package runnerlog reads a step's output as the GitHub Actions runner
// does (actions/runner: ActionCommandManager.TryProcessCommand and
// ActionCommand.TryParseV2/TryParse), to tell which workflow commands the
// output would issue. Tests use it to prove that nothing from outside the
// tool issues one.
package runnerlog

import (
	"strings"
	"unicode"
)

// registered are the runner's command names (its command extensions, and
// stop-commands).
var registered = []string{"stop-commands", "set-env", "set-output", "save-state", "add-mask", "add-path",
	"debug", "notice", "warning", "error", "group", "endgroup", "echo", "add-matcher", "remove-matcher"}

// Command is one workflow command the runner would run.
type Command struct {
	Name string
	Line string // the whole line it came from
}

// Commands returns the commands that log would issue, in order, with
// ::stop-commands:: honoured: while stopped, only the resume token runs.
func Commands(log string) []Command {
	var out []Command
	stopToken := ""
	for _, line := range splitLines(log) {
		name, ok := parse(line, stopToken)
		if !ok {
			continue
		}
		switch {
		case stopToken != "":
			if strings.EqualFold(name, stopToken) {
				stopToken = ""
				out = append(out, Command{Name: "resume-commands", Line: line})
			}
		case strings.EqualFold(name, "stop-commands"):
			stopToken = data(line)
			out = append(out, Command{Name: name, Line: line})
		default:
			out = append(out, Command{Name: strings.ToLower(name), Line: line})
		}
	}
	return out
}

// splitLines splits as .NET's StreamReader.ReadLine: at "\n", "\r" or
// "\r\n".
func splitLines(s string) []string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' })
}

// parse finds a command in a line: "::name props::data" after leading
// white space, else "##[name props]data" anywhere.
func parse(line, stopToken string) (string, bool) {
	known := func(n string) bool {
		for _, r := range registered {
			if strings.EqualFold(r, n) {
				return true
			}
		}
		return stopToken != "" && strings.EqualFold(n, stopToken)
	}
	// .NET compares with culture rules, which ignore invisible format
	// characters: the model drops them, to err on the side of a command.
	line = strings.Map(func(r rune) rune {
		if unicode.Is(unicode.Cf, r) {
			return -1
		}
		return r
	}, line)
	t := strings.TrimLeftFunc(line, unicode.IsSpace)
	if strings.HasPrefix(t, "::") {
		if end := strings.Index(t[2:], "::"); end >= 0 {
			if name, _, _ := strings.Cut(t[2:2+end], " "); known(name) {
				return name, true
			}
		}
	}
	if i := strings.Index(line, "##["); i >= 0 {
		if end := strings.Index(line[i:], "]"); end >= 0 {
			if name, _, _ := strings.Cut(line[i+3:i+end], " "); known(name) {
				return name, true
			}
		}
	}
	return "", false
}

// data is a V2 command's data: what follows its second "::".
func data(line string) string {
	t := strings.TrimLeftFunc(line, unicode.IsSpace)
	if end := strings.Index(t[2:], "::"); end >= 0 {
		return t[2+end+2:]
	}
	return ""
}
