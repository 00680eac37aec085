package ghaction

import (
	"crypto/rand"
	"encoding/hex"
	"io"
	"strings"
	"sync"
	"unicode"
)

// Guard is the process's standard output (and error) in GitHub Actions.
// The runner reads a step's output line by line, a line ending at "\n" or
// at "\r", and runs as a workflow command any line that starts with "::"
// after leading white space, or that holds "##[" anywhere (its older
// syntax). Text from outside, such as a machine's output, a remote error
// or a name from the template, could so issue commands: ::add-mask::,
// ::error::, even set-output.
//
// Text goes through Text(); the tool's own commands go through
// Commands(). When text holds a line the runner could take for a command,
// the Guard first writes ::stop-commands:: with a fresh random token; the
// runner then runs no command until it sees that token, which the Guard
// writes before the tool's next command of its own. Text that holds no
// such line passes as it is.
type Guard struct {
	mu       sync.Mutex
	w        io.Writer
	token    string // the open fence's token; "" while commands run
	partial  string // the unfinished line written so far (capped)
	long     bool   // the unfinished line outgrew partial
	newToken func() string
}

// NewGuard returns a Guard writing to w.
func NewGuard(w io.Writer) *Guard { return &Guard{w: w, newToken: randomToken} }

func randomToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return "via-" + hex.EncodeToString(b[:])
}

// Text returns the writer for everything but the tool's own commands.
func (g *Guard) Text() io.Writer { return guardText{g} }

// Commands returns the writer for the tool's own workflow commands.
func (g *Guard) Commands() io.Writer { return guardCommands{g} }

// Close lets the runner run commands again, if text had stopped them.
func (g *Guard) Close() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.resume()
}

type guardText struct{ g *Guard }

// commands lets New find the command writer of a Guard's text writer.
func (t guardText) commands() io.Writer { return t.g.Commands() }

func (t guardText) Write(p []byte) (int, error) {
	g := t.g
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.token == "" && (g.long || risky(g.partial+string(p))) {
		if err := g.lineStart(); err != nil {
			return 0, err
		}
		g.token = g.newToken()
		if _, err := io.WriteString(g.w, "::stop-commands::"+g.token+"\n"); err != nil {
			return 0, err
		}
	}
	n, err := g.w.Write(p)
	g.track(p[:n])
	return n, err
}

type guardCommands struct{ g *Guard }

func (c guardCommands) Write(p []byte) (int, error) {
	g := c.g
	g.mu.Lock()
	defer g.mu.Unlock()
	if err := g.resume(); err != nil {
		return 0, err
	}
	if err := g.lineStart(); err != nil {
		return 0, err
	}
	n, err := g.w.Write(p)
	g.track(p[:n])
	return n, err
}

// resume ends an open fence; g.mu held.
func (g *Guard) resume() error {
	if g.token == "" {
		return nil
	}
	if err := g.lineStart(); err != nil {
		return err
	}
	_, err := io.WriteString(g.w, "::"+g.token+"::\n")
	g.token = ""
	return err
}

// lineStart ends an unfinished line, so that what follows starts one;
// g.mu held.
func (g *Guard) lineStart() error {
	if g.partial == "" && !g.long {
		return nil
	}
	_, err := io.WriteString(g.w, "\n")
	g.partial, g.long = "", false
	return err
}

// maxPartial is how much of an unfinished line is kept to judge what
// completes it; a longer one is judged risky.
const maxPartial = 256

// track remembers the unfinished line after p; g.mu held.
func (g *Guard) track(p []byte) {
	s := string(p)
	if i := strings.LastIndexAny(s, "\r\n"); i >= 0 {
		g.partial, g.long, s = "", false, s[i+1:]
	}
	if g.long {
		return
	}
	if g.partial += s; len(g.partial) > maxPartial {
		g.partial, g.long = "", true
	}
}

// risky reports whether any line of s, split as the runner splits, could
// be taken for a workflow command: one that starts with "::", or holds
// "##[", once white space and invisible characters are dropped (the
// runner trims white space, and compares with culture rules that ignore
// some invisible characters).
func risky(s string) bool {
	for _, line := range strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' }) {
		v := strings.Map(visible, line)
		if strings.HasPrefix(v, "::") || strings.Contains(v, "##[") {
			return true
		}
	}
	return false
}

func visible(r rune) rune {
	if unicode.IsSpace(r) || unicode.In(r, unicode.Cc, unicode.Cf, unicode.Mn, unicode.Me) {
		return -1
	}
	return r
}
