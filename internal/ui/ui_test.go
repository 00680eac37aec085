package ui

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vultr-image-action/vultr-image-action/internal/ghaction"
	"github.com/vultr-image-action/vultr-image-action/internal/ghaction/runnerlog"
	"github.com/vultr-image-action/vultr-image-action/internal/redact"
	"github.com/vultr-image-action/vultr-image-action/internal/spec"
)

func fixedNow() time.Time { return time.Unix(1700000000, 0) }

func TestHumanOutput(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	c := New(Options{Out: &out, Redactor: redact.New("sekrit-api-key"), Now: fixedNow})
	c.Say("vultr", "Creating instance with key sekrit-api-key")
	c.Message("vultr", "two\nlines")
	end := c.Phase("vultr", "wait for instance")
	end()
	c.Warn("", "region_code is deprecated; use region_id", spec.Pos{File: "server.json", Line: 4, Col: 3})
	c.Error("vultr", "boom", spec.Pos{}, "Build failed")
	c.Debug("hidden without debug")
	w := c.Output("vultr")
	fmt.Fprint(w, "remote line 1\nremote ")
	fmt.Fprint(w, "line 2\r\npartial")
	_ = w.Close()
	want := "==> vultr: Creating instance with key ***\n" +
		"    vultr: two\n" +
		"    vultr: lines\n" +
		"==> vultr: wait for instance\n" +
		"Warning: server.json:4:3: region_code is deprecated; use region_id\n" +
		"==> vultr: Error: boom\n" +
		"    vultr: remote line 1\n" +
		"    vultr: remote line 2\n" +
		"    vultr: partial\n"
	if got := out.String(); got != want {
		t.Errorf("output:\n%s\nwant:\n%s", got, want)
	}
}

func TestMachineReadable(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	c := New(Options{Out: &out, MachineReadable: true, Now: fixedNow})
	c.Say("vultr", "Creating instance, please wait")
	c.Message("vultr", "multi\nline")
	c.Error("vultr", "it failed", spec.Pos{}, "")
	if !c.Machine("vultr", "artifact", "0", "id", "abc-123") {
		t.Fatal("Machine() = false in machine-readable mode")
	}
	want := "1700000000,vultr,ui,say,==> vultr: Creating instance%!(PACKER_COMMA) please wait\n" +
		"1700000000,vultr,ui,message,    vultr: multi\\nline\n" +
		"1700000000,vultr,error,it failed\n" +
		"1700000000,vultr,artifact,0,id,abc-123\n"
	if got := out.String(); got != want {
		t.Errorf("output:\n%s\nwant:\n%s", got, want)
	}
}

func TestActionsGroupsAndAnnotations(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	dir := t.TempDir()
	env := map[string]string{"GITHUB_STEP_SUMMARY": filepath.Join(dir, "s")}
	act := ghaction.New(&out, func(k string) string { return env[k] })
	c := New(Options{Out: &out, Action: act, Groups: true, Debug: true, Workspace: "/github/workspace", Redactor: redact.New("pw-secret-1")})
	end := c.Phase("vultr", "create instance")
	c.Message("vultr", "created pw-secret-1")
	end()
	c.Error("vultr", "bad key", spec.Pos{File: "/github/workspace/packer/server.json", Line: 7, Col: 9}, "Template error")
	c.Warn("", "deprecated", spec.Pos{})
	c.Debug("GET /v2/account 200 pw-secret-1")
	want := "::group::vultr: create instance\n" +
		"    vultr: created ***\n" +
		"::endgroup::\n" +
		"::error col=9,file=packer/server.json,line=7,title=Template error::vultr: bad key\n" +
		"::warning::deprecated\n" +
		"::debug::GET /v2/account 200 ***\n"
	if got := out.String(); got != want {
		t.Errorf("output:\n%s\nwant:\n%s", got, want)
	}
}

func TestNoGroupsWhenParallel(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	act := ghaction.New(&out, func(string) string { return "" })
	c := New(Options{Out: &out, Action: act, Groups: false})
	c.Phase("a", "boot")()
	if strings.Contains(out.String(), "::group::") {
		t.Errorf("group opened with Groups=false: %q", out.String())
	}
	if got, want := out.String(), "==> a: boot\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestConcurrentLinesStayWhole(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	c := New(Options{Out: &out})
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			w := c.Output(fmt.Sprintf("b%d", i))
			for j := 0; j < 50; j++ {
				fmt.Fprintf(w, "line %d of build %d\n", j, i)
			}
			_ = w.Close()
		}(i)
	}
	wg.Wait()
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if got, want := len(lines), 200; got != want {
		t.Fatalf("lines = %d, want %d", got, want)
	}
	for _, l := range lines {
		var j, i int
		var b string
		if _, err := fmt.Sscanf(l, "    %s line %d of build %d", &b, &j, &i); err != nil || b != fmt.Sprintf("b%d:", i) {
			t.Errorf("interleaved or malformed line %q", l)
		}
	}
}

func TestDiagnosticAnnotationSpansRange(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	act := ghaction.New(&out, func(string) string { return "" })
	c := New(Options{Out: &out, Action: act, Workspace: "/github/workspace"})
	c.Diagnostic(spec.Diagnostic{Pos: spec.Pos{File: "/github/workspace/packer/web.pkr.hcl", Line: 9, Col: 14}, End: spec.Pos{Line: 9, Col: 32}, Summary: "no source", Snippet: "  9 | x\n    | ^"}, "Template error")
	want := "::error col=14,endColumn=32,endLine=9,file=packer/web.pkr.hcl,line=9,title=Template error::/github/workspace/packer/web.pkr.hcl:9:14: no source\n"
	if got := out.String(); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

// A command's long line is shown in parts; a secret where one part ends is
// masked whole, and every part of the line is shown.
func TestLongOutputLinesKeepSecretsWhole(t *testing.T) {
	t.Parallel()
	const secret = "db-password-that-straddles"
	for offset := maxLine - 2*len(secret); offset <= maxLine+len(secret); offset++ {
		var out bytes.Buffer
		c := New(Options{Out: &out, Redactor: redact.New(secret)})
		w := c.Output("b")
		line := strings.Repeat("a", offset) + secret + strings.Repeat("z", 5000)
		for i := 0; i < len(line); i += 4096 {
			_, _ = w.Write([]byte(line[i:min(i+4096, len(line))]))
		}
		_, _ = w.Write([]byte("\n"))
		_ = w.Close()
		got := out.String()
		if strings.Contains(got, secret[:8]) || strings.Contains(got, secret[len(secret)-8:]) {
			t.Fatalf("offset %d: a piece of the secret was shown", offset)
		}
		shown := strings.ReplaceAll(strings.ReplaceAll(got, "    b: ", ""), "\n", "")
		if want := strings.Repeat("a", offset) + redact.Mask + strings.Repeat("z", 5000); shown != want {
			t.Fatalf("offset %d: the line's parts do not add up to the masked line", offset)
		}
	}
}

// A machine's output is cut into lines where the runner cuts them ("\r"
// too): no text after a "\r" starts a line of the log, and in Actions the
// runner runs none of it as a workflow command.
func TestMachineOutputIssuesNoCommand(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	c := New(Options{Out: &out})
	w := c.Output("b")
	fmt.Fprint(w, "progress 10%\rprogress\r::error title=x::y\n")
	fmt.Fprint(w, "done\r")
	fmt.Fprint(w, "::add-mask::z\r\n\r\rlast\r")
	_ = w.Close()
	want := "    b: progress 10%\n    b: progress\n    b: ::error title=x::y\n    b: done\n    b: ::add-mask::z\n    b: last\n"
	if got := out.String(); got != want {
		t.Errorf("output:\n%q\nwant:\n%q", got, want)
	}

	out.Reset()
	g := ghaction.NewGuard(&out)
	act := ghaction.New(g.Text(), func(string) string { return "" })
	c = New(Options{Out: g.Text(), Action: act, Groups: true})
	end := c.Phase("b", "provision")
	w = c.Output("b")
	fmt.Fprint(w, "x\r::error title=x::y\rdone ##[add-mask]z\n")
	c.Message("b", "remote said\r::warning::w")
	_ = w.Close()
	end()
	c.Error("b", "remote error\r::notice::n", spec.Pos{}, "t")
	_ = g.Close()
	var names []string
	for _, cmd := range runnerlog.Commands(out.String()) {
		if cmd.Name != "stop-commands" && cmd.Name != "resume-commands" {
			names = append(names, cmd.Name)
		}
	}
	if got := strings.Join(names, ","); got != "group,endgroup,error" {
		t.Errorf("commands: %s, want group,endgroup,error\n%s", got, out.String())
	}
}
