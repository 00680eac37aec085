package app

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/vultr-image-action/vultr-image-action/internal/build"
	"github.com/vultr-image-action/vultr-image-action/internal/redact"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestSummaryMarkdownGolden(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	results := []*build.Result{
		{Name: "web", Status: build.Succeeded, SnapshotID: "snap-1", Region: "ewr", Plan: "vc2-1c-1gb", Image: "Ubuntu 24.04 LTS x64", Start: t0, End: t0.Add(95 * time.Second),
			Phases: []build.Phase{{Name: "create instance", Start: t0, End: t0.Add(time.Second)}, {Name: "wait for instance", Start: t0.Add(time.Second), End: t0.Add(40 * time.Second)}}},
		{Name: "worker", Status: build.Failed, Region: "ord", Plan: "vc2-1c-1gb", Start: t0, End: t0.Add(10 * time.Second), Err: errors.New("wait for snapshot: timed out"),
			Phases: []build.Phase{{Name: "wait for snapshot", Start: t0, End: t0.Add(10 * time.Second), Err: errors.New("timed out")}}},
	}
	got := summaryMarkdown(results, func(s string) string { return s })
	golden := "testdata/summary.golden.md"
	if *update {
		os.MkdirAll("testdata", 0o755)
		os.WriteFile(golden, []byte(got), 0o644)
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update)", err)
	}
	if got != string(want) {
		t.Errorf("summary:\n%s\nwant:\n%s", got, want)
	}
}

// A secret is redacted before the summary escapes it: one holding "|" (a
// table's column mark) or ":" (Mermaid's) is masked whole, and no escaped
// piece of it shows.
func TestSummaryRedactsBeforeEscaping(t *testing.T) {
	t.Parallel()
	for _, secret := range []string{"pa|ss:word#1", "xx|yy", "ab\nbc|cd"} {
		red := redact.New(secret)
		t0 := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
		results := []*build.Result{{Name: "b-" + secret, Status: build.Failed, Image: secret, Start: t0, End: t0.Add(time.Second), Err: errors.New("remote said " + secret),
			Phases: []build.Phase{{Name: "provision " + secret, Start: t0, End: t0.Add(time.Second)}}}}
		got := red.String(summaryMarkdown(results, red.String))
		for _, piece := range []string{secret, markdownCell(secret), mermaidText(secret), "pa\\|ss", "x\\|y"} {
			if strings.Contains(got, piece) {
				t.Errorf("secret %q shows as %q in the summary:\n%s", secret, piece, got)
			}
		}
	}
}

// One reader serves every question: an answer typed after an abandoned
// question goes to the next one, and prompts are masked.
func TestTerminalAsksThroughOneReader(t *testing.T) {
	t.Parallel()
	pr, pw := io.Pipe()
	var out bytes.Buffer
	term := &terminal{w: World{Stdin: pr, Stdout: &out}, ok: true}
	red := redact.New("prompt-secret-123")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if got := term.askOnError(red)(ctx, "web", errors.New("failed with prompt-secret-123")); got != "cleanup" {
		t.Errorf("an interrupted question: %q, want cleanup", got)
	}
	go func() { _, _ = io.WriteString(pw, "a\n") }()
	if got := term.askOnError(red)(context.Background(), "web", errors.New("x")); got != "abort" {
		t.Errorf("answer a: %q, want abort", got)
	}
	if strings.Contains(out.String(), "prompt-secret-123") {
		t.Errorf("the prompt showed a secret: %q", out.String())
	}
	// A bastion's keyboard-interactive question ends with the run's
	// context (Ctrl-C), not at the next Enter.
	done := make(chan error, 1)
	go func() {
		_, err := term.interactive(ctx, red)("bastion", "", []string{"Code: "}, []bool{true})
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("an interrupted bastion question: %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Error("an interrupted bastion question still waits for Enter")
	}
}
