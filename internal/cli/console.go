package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/vultr-image-action/vultr-image-action/internal/decode"
	"github.com/vultr-image-action/vultr-image-action/internal/hcl2template"
	"github.com/vultr-image-action/vultr-image-action/internal/ui"
)

// cmdConsole is `packer console`: HCL2 expressions, one per line, in the
// template's context. From a pipe, Packer prints the last line's value;
// in a terminal, each value after its "> " prompt. Sensitive values are
// masked.
func cmdConsole(ctx context.Context, env Env, args []string) error {
	fs := newFlagSet(env, "console", "console [-var k=v]... [-var-file f]... [TEMPLATE]")
	var vars, varFiles multiFlag
	fs.Var(&vars, "var", "set a template variable, `key=value` (repeatable)")
	fs.Var(&varFiles, "var-file", "`file` of variables (repeatable)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 1 {
		fs.Usage()
		return usageErrorf("console takes at most one template path, got %d arguments", fs.NArg())
	}
	path := fs.Arg(0)
	if strings.HasSuffix(path, ".json") && !strings.HasSuffix(path, ".pkr.json") {
		return usageErrorf("console evaluates HCL2 expressions; %s is a JSON template (vultr-image-action hcl2_upgrade converts it)", path)
	}
	red := newSession(env, nil, "").red
	cwd, _ := env.Getwd()
	c, err := hcl2template.NewConsole(path, decode.Options{Vars: vars, VarFiles: varFiles, Getenv: env.Getenv, Now: time.Now(), RunUUID: newUUID(), Cwd: cwd,
		Secret: func(v string) { red.Add(v) }})
	if err != nil {
		reportTemplateError(ui.New(ui.Options{Out: env.Stderr, Redactor: red}), err)
		return &reportedError{err: &UsageError{Err: red.Error(err)}}
	}
	interactive := isTerminal(env.Stdin) && isTerminal(env.Stdout)
	var last string
	failed := false
	sc := bufio.NewScanner(env.Stdin)
	for {
		if interactive {
			fmt.Fprint(env.Stdout, "> ")
		}
		if !sc.Scan() || ctx.Err() != nil {
			break
		}
		out, exit, err := c.Eval(sc.Text())
		if err != nil {
			failed = true
			fmt.Fprintln(env.Stderr, red.String("Error: "+err.Error()))
			continue
		}
		if exit {
			break
		}
		if interactive {
			fmt.Fprintln(env.Stdout, red.String(out))
		}
		last = out
	}
	if !interactive {
		fmt.Fprintln(env.Stdout, red.String(last))
	}
	if failed {
		return &reportedError{err: errors.New("an expression failed")}
	}
	return nil
}
