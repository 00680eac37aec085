package provision

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/vultr-image-action/vultr-image-action/internal/schema"
)

// Breakpoint is Packer's breakpoint provisioner: a pause to look at the
// machine.
type Breakpoint struct {
	Disable bool
	Note    string
}

var breakpointKind = Kind{
	Block:       &schema.Breakpoint,
	Machineless: true,
	Decode: func(f Fields) any {
		bp := &Breakpoint{}
		bp.Disable, _ = f.Bool("disable")
		bp.Note, _ = f.String("note")
		return bp
	},
	Run: runAs(runBreakpoint),
}

// runBreakpoint is Packer's breakpoint: disabled, it does nothing; with
// nobody to answer (CI, no terminal) it is skipped with a message, never a
// hang; in a terminal it says how to reach the machine and waits for Enter.
func runBreakpoint(ctx context.Context, bp *Breakpoint, env *Env) error {
	if bp.Disable {
		env.Logf("Breakpoint disabled, continuing")
		return nil
	}
	if env.Pause == nil {
		env.Logf("Breakpoint skipped: no terminal to pause in (note: %q)", bp.Note)
		return nil
	}
	m := env.Machine
	how := fmt.Sprintf("ssh -p %d %s@%s", m.Port, m.User, m.Host)
	if m.KeyPEM != "" {
		dir, err := os.MkdirTemp("", "via-breakpoint-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		key := filepath.Join(dir, "id_ed25519")
		if err := os.WriteFile(key, []byte(m.KeyPEM), 0o600); err != nil {
			return err
		}
		how = fmt.Sprintf("ssh -i %s -p %d %s@%s", key, m.Port, m.User, m.Host)
	}
	return env.Pause(ctx, fmt.Sprintf("Pausing at breakpoint (note: %q). Reach the machine with: %s\nPress Enter to continue.", bp.Note, how))
}
