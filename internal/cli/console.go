package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"

	"github.com/vultr-image-action/vultr-image-action/internal/app"
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
		return app.UsageErrorf("console takes at most one template path, got %d arguments", fs.NArg())
	}
	c, err := app.NewConsole(env, app.ConsoleRequest{Template: fs.Arg(0), Vars: vars, VarFiles: varFiles})
	if err != nil {
		return err
	}
	interactive := app.IsTerminal(env.Stdin) && app.IsTerminal(env.Stdout)
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
			fmt.Fprintln(env.Stderr, "Error: "+err.Error())
			continue
		}
		if exit {
			break
		}
		if interactive {
			fmt.Fprintln(env.Stdout, out)
		}
		last = out
	}
	if !interactive {
		fmt.Fprintln(env.Stdout, c.Mask(last))
	}
	if failed {
		return &app.ShownError{Err: errors.New("an expression failed")}
	}
	return nil
}
