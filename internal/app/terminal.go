package app

import (
	"bufio"
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/vultr-image-action/vultr-image-action/internal/redact"
)

// terminal is the person at the keyboard, when there is one (never in
// Actions or with a pipe, where a question would hang): -on-error=ask and
// the breakpoint provisioner ask through it. One reader serves the whole
// run, so a question abandoned by an interrupt leaves nothing behind to
// take the next answer; one question is asked at a time.
type terminal struct {
	w     World
	ok    bool
	once  sync.Once
	lines chan string
	mu    sync.Mutex
}

func newTerminal(w World, j BuildRequest) *terminal {
	return &terminal{w: w, ok: j.Action == nil && IsTerminal(w.Stdin) && IsTerminal(w.Stdout)}
}

// ask shows prompt (masked) and waits for a line, or ctx.
func (t *terminal) ask(ctx context.Context, red *redact.Redactor, prompt string) (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.once.Do(func() {
		t.lines = make(chan string)
		go func() {
			sc := bufio.NewScanner(t.w.Stdin)
			for sc.Scan() {
				t.lines <- sc.Text()
			}
			close(t.lines)
		}()
	})
	fmt.Fprint(t.w.Stdout, red.String(prompt))
	select {
	case line, ok := <-t.lines:
		if !ok {
			return "", fmt.Errorf("the terminal closed")
		}
		return strings.TrimSpace(line), nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// askOnError is -on-error=ask: what to do with a failed build's instance.
// An interrupt, or no answer, counts as "clean up".
func (t *terminal) askOnError(red *redact.Redactor) func(ctx context.Context, build string, err error) string {
	return func(ctx context.Context, build string, err error) string {
		a, aerr := t.ask(ctx, red, fmt.Sprintf("==> %s: build failed: %v\n==> %s: [c] clean up and exit, [a] abort and keep the instance, [r] run the error-cleanup-provisioner and keep it: ", build, err, build))
		switch {
		case aerr != nil:
			return "cleanup"
		case strings.EqualFold(a, "a"):
			return "abort"
		case strings.EqualFold(a, "r"):
			return "run-cleanup-provisioner"
		}
		return "cleanup"
	}
}

// pause is the breakpoint's pause; nil without a terminal, so a breakpoint
// is skipped instead of hanging.
func (t *terminal) pause(red *redact.Redactor) func(ctx context.Context, msg string) error {
	if !t.ok {
		return nil
	}
	return func(ctx context.Context, msg string) error {
		_, err := t.ask(ctx, red, msg+"\n")
		return err
	}
}

// interactive answers an SSH server's keyboard-interactive questions
// (ssh_bastion_interactive) in the terminal; an answer the server asks not
// to echo is typed with echo off. The SSH library's callback takes no
// context, so the run's is kept: an interrupt (Ctrl-C) ends the question.
// Nil without a terminal.
func (t *terminal) interactive(ctx context.Context, red *redact.Redactor) func(name, instruction string, questions []string, echos []bool) ([]string, error) {
	if !t.ok {
		return nil
	}
	return func(name, instruction string, questions []string, echos []bool) ([]string, error) {
		if s := strings.TrimSpace(name + "\n" + instruction); s != "" {
			fmt.Fprintln(t.w.Stdout, red.String(s))
		}
		answers := make([]string, len(questions))
		for i, q := range questions {
			restore := func() {}
			if !echos[i] {
				var err error
				if restore, err = echoOff(t.w.Stdin); err != nil {
					return nil, fmt.Errorf("turn echo off for %q: %w", q, err)
				}
			}
			a, err := t.ask(ctx, red, q)
			restore()
			if !echos[i] {
				fmt.Fprintln(t.w.Stdout)
				red.Add(a)
			}
			if err != nil {
				return nil, err
			}
			answers[i] = a
		}
		return answers, nil
	}
}
