package ghaction

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/vultr-image-action/vultr-image-action/internal/ghaction/runnerlog"
)

// Text from outside never issues a workflow command, however it is split
// into writes; the tool's own commands still run, before and after it.
func TestGuardKeepsOutsideTextData(t *testing.T) {
	t.Parallel()
	attacks := []string{
		"progress\r::error title=x::injected\n",
		"done\r::add-mask::z\n",
		"::set-output name=snapshot-id::evil\n",
		"   ::warning::indented\n",
		"\u200b::error::zero-width\n",
		"\u00a0\u2003::error::unicode spaces\n",
		"all good ##[add-mask]anywhere\n",
		"#\u200d#[error]joined\n",
		"line\r\n::group::crlf\n",
		"no newline at end ::notice::x\r::endgroup::",
	}
	for i, attack := range attacks {
		for _, chunk := range []int{1, 2, 3, 7, len(attack)} {
			t.Run(fmt.Sprintf("%d/chunk%d", i, chunk), func(t *testing.T) {
				t.Parallel()
				var out bytes.Buffer
				g := NewGuard(&out)
				act := New(g.Text(), func(string) string { return "" })
				_ = act.Group("before")
				text := g.Text()
				for s := attack; s != ""; {
					n := min(chunk, len(s))
					_, _ = text.Write([]byte(s[:n]))
					s = s[n:]
				}
				_ = act.Annotate(LevelWarning, "after", Location{})
				_ = g.Close()
				var names []string
				for _, c := range runnerlog.Commands(out.String()) {
					if c.Name != "stop-commands" && c.Name != "resume-commands" {
						names = append(names, c.Name)
					}
				}
				if got := strings.Join(names, ","); got != "group,warning" {
					t.Errorf("commands issued: %s, want group,warning\n%q", got, out.String())
				}
			})
		}
	}
}

// Text that could not be a command passes unchanged, with no fence.
func TestGuardPassesPlainText(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	g := NewGuard(&out)
	plain := "==> vultr: Creating instance...\n    vultr: std::string and a::b\n    vultr: ::1 localhost\n"
	_, _ = g.Text().Write([]byte(plain))
	_ = g.Close()
	if out.String() != plain {
		t.Errorf("plain text changed:\n%q\nwant\n%q", out.String(), plain)
	}
}

// Each fence has a fresh token, which outside text cannot guess.
func TestGuardTokensAreFresh(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	g := NewGuard(&out)
	act := New(g.Text(), func(string) string { return "" })
	for range 3 {
		_, _ = g.Text().Write([]byte("::error::x\n"))
		_ = act.Debug("mine")
	}
	seen := map[string]bool{}
	for _, c := range runnerlog.Commands(out.String()) {
		if c.Name == "stop-commands" {
			tok := strings.TrimPrefix(c.Line, "::stop-commands::")
			if seen[tok] || len(tok) < 32 {
				t.Errorf("token %q reused or short", tok)
			}
			seen[tok] = true
		}
	}
	if len(seen) != 3 {
		t.Errorf("%d fences, want 3:\n%s", len(seen), out.String())
	}
}
