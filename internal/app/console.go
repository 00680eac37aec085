package app

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/vultr-image-action/vultr-image-action/internal/decode"
	"github.com/vultr-image-action/vultr-image-action/internal/hcl2template"
	"github.com/vultr-image-action/vultr-image-action/internal/redact"
	"github.com/vultr-image-action/vultr-image-action/internal/ui"
)

// ConsoleRequest is `packer console`'s: an HCL2 template (a file, a
// directory, or "" for none) and its variables.
type ConsoleRequest struct {
	Template       string
	Vars, VarFiles []string
}

// Console evaluates HCL2 expressions in a template's context: its
// variables, locals and path.*. What it returns is masked: a sensitive
// value never reaches the caller.
type Console struct {
	c   *hcl2template.Console
	red *redact.Redactor
}

// NewConsole loads the template for the console. A load error is shown
// (masked) before it returns.
func NewConsole(w World, r ConsoleRequest) (*Console, error) {
	if strings.HasSuffix(r.Template, ".json") && !strings.HasSuffix(r.Template, ".pkr.json") {
		return nil, &UsageError{Err: fmt.Errorf("console evaluates HCL2 expressions; %s is a JSON template (vultr-image-action hcl2_upgrade converts it)", r.Template)}
	}
	red := NewSession(w, nil, "").Red
	cwd, _ := w.Getwd()
	c, err := hcl2template.NewConsole(r.Template, decode.Options{Vars: r.Vars, VarFiles: r.VarFiles, Getenv: w.Getenv, Now: time.Now(), RunUUID: newUUID(), Cwd: cwd,
		Secret: func(v string) { red.Add(v) }})
	if err != nil {
		reportTemplateError(ui.New(ui.Options{Out: w.Stderr, Redactor: red}), err)
		return nil, &ShownError{Err: &UsageError{Err: red.Error(err)}}
	}
	return &Console{c: c, red: red}, nil
}

// Eval evaluates one line: an expression, or "help", "variables", "exit".
// Its value and its error are masked.
func (c *Console) Eval(line string) (out string, exit bool, err error) {
	out, exit, err = c.c.Eval(line)
	if err != nil {
		return "", false, errors.New(c.red.String(err.Error()))
	}
	return c.red.String(out), exit, nil
}

// Mask masks s with every secret known so far: a value printed after
// later lines ran (a pipe's last value) is masked again at print time.
func (c *Console) Mask(s string) string { return c.red.String(s) }
