// Package provision runs Packer's shell, file and shell-local
// provisioners with Packer's options and defaults.
package provision

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/vultr-image-action/vultr-image-action/internal/remote"
	"github.com/vultr-image-action/vultr-image-action/internal/spec"

	"github.com/vultr-image-action/vultr-image-action/internal/ctxtime"
)

// Communicator is what provisioners need from the machine;
// *remote.Client has it.
type Communicator interface {
	Run(ctx context.Context, cmd string, stdin io.Reader, stdout, stderr io.Writer) error
	Upload(ctx context.Context, dst string, r io.Reader, mode fs.FileMode, size int64) error
	UploadFile(ctx context.Context, src, dst string) error
	UploadDir(ctx context.Context, srcDir, dstDir string) error
	Download(ctx context.Context, src string, w io.Writer) error
	DownloadFile(ctx context.Context, src, dst string) error
	DownloadDir(ctx context.Context, srcDir, dstDir string) error
}

// Env is what a provisioner runs with.
type Env struct {
	BuildName, BuilderType string
	Comm                   Communicator
	// Reconnect opens a new connection after an expected disconnect.
	Reconnect func(ctx context.Context) (Communicator, error)
	// Stdout and Stderr receive command output, already line-prefixed.
	Stdout, Stderr io.Writer
	Logf           func(format string, args ...any)
	// WorkDir is where shell-local runs: the working directory, as in
	// Packer ("" is the process's).
	WorkDir string
	// LocalEnviron is the environment of shell-local commands.
	LocalEnviron []string
	// Rand names remote scripts (script_<n>.sh); default math/rand.
	Rand func() int
	// Sleep pauses; default a timer honouring ctx.
	Sleep func(ctx context.Context, d time.Duration) error
	// Now is the clock for start_retry_timeout; default time.Now.
	Now func() time.Time
	// Pause, in a terminal, shows msg and waits for Enter (or ctx). Nil
	// where nobody can answer (CI): a breakpoint is then skipped.
	Pause func(ctx context.Context, msg string) error
	// Machine says how to reach the machine, for a breakpoint: address,
	// user, and the temporary private key (written to a 0600 file for the
	// pause, removed after).
	Machine MachineAccess

	// PTY is set when commands run on a pseudo-terminal (ssh_pty), whose
	// standard input never ends: secret variables then go through a
	// private file, removed before the script starts.
	PTY bool
	// GOOS is the local operating system for shell-local's only_on;
	// default runtime.GOOS.
	GOOS string
	// SBOM, when set, is told each SBOM an hcp-sbom provisioner makes:
	// the document, its format, how many packages it lists, and where
	// it was written ("" when it was not).
	SBOM func(MadeSBOM)
	// Secrets are values that must not appear on a command line (where ps
	// on the machine would show them): environment variables holding one
	// go through the session's standard input instead.
	Secrets []string

	// pending are remote files and directories to remove (scripts,
	// variable files, ansible-local's staging directory) that a
	// failure, a time-out or a disconnect left behind. Each attempt, and
	// the build before it shuts the machine down, removes them.
	mu      sync.Mutex
	pending []string
}

func (e *Env) goos() string {
	if e.GOOS != "" {
		return e.GOOS
	}
	return runtime.GOOS
}

// removeLater registers a remote file to remove whatever happens next.
func (e *Env) removeLater(p string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.pending = append(e.pending, p)
}

// removeBudget bounds one removal, on a context that outlives a cancelled
// or timed-out provisioner: a file that may hold a secret must go.
const removeBudget = 30 * time.Second

// RemovePending removes every registered remote file. Files it could not
// remove stay registered, and the error names them: a build must not
// snapshot a machine that may still hold one.
func (e *Env) RemovePending(ctx context.Context) error {
	e.mu.Lock()
	files := slices.Clone(e.pending)
	e.mu.Unlock()
	if len(files) == 0 {
		return nil
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), removeBudget)
	defer cancel()
	args := make([]string, len(files))
	for i, f := range files {
		args[i] = quote(f)
	}
	if err := e.Comm.Run(rctx, "rm -rf "+strings.Join(args, " "), nil, io.Discard, io.Discard); err != nil {
		return fmt.Errorf("remove %s from the machine: %w", strings.Join(files, ", "), err)
	}
	e.mu.Lock()
	e.pending = e.pending[len(files):]
	e.mu.Unlock()
	return nil
}

func (e *Env) defaults() {
	if e.Logf == nil {
		e.Logf = func(string, ...any) {}
	}
	if e.Stdout == nil {
		e.Stdout = io.Discard
	}
	if e.Stderr == nil {
		e.Stderr = io.Discard
	}
	if e.Rand == nil {
		e.Rand = func() int { return rand.Intn(9999) }
	}
	if e.Sleep == nil {
		e.Sleep = sleep
	}
	if e.Now == nil {
		e.Now = time.Now
	}
}

// sleep waits d or until ctx ends.
var sleep = ctxtime.Sleep

// Error is a provisioner's failure, with where it is in the template.
type Error struct {
	Index int
	Type  string
	Pos   spec.Pos
	Err   error
}

func (e *Error) Error() string {
	where := ""
	if p := e.Pos.String(); p != "" {
		where = " at " + p
	}
	return fmt.Sprintf("provisioner %d (%s)%s: %v", e.Index, e.Type, where, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// Run runs one provisioner: pause_before, then up to max_retries+1
// attempts, each bounded by timeout.
func Run(ctx context.Context, p spec.Provisioner, env *Env) error {
	env.defaults()
	wrap := func(err error) error {
		if err == nil {
			return nil
		}
		return &Error{Index: p.Index, Type: p.Type, Pos: p.Pos, Err: err}
	}
	if p.PauseBefore > 0 {
		env.Logf("Pausing %s before the next provisioner...", p.PauseBefore)
		if err := env.Sleep(ctx, p.PauseBefore); err != nil {
			return wrap(err)
		}
	}
	var err error
	for attempt := 0; attempt <= p.MaxRetries; attempt++ {
		if attempt > 0 {
			env.Logf("Provisioner %d (%s) failed: %v; retrying (%d of %d)", p.Index, p.Type, err, attempt, p.MaxRetries)
		}
		err = once(ctx, p, env)
		// Whatever happened, the attempt's files go now. Over a lost
		// connection they cannot: they stay listed, and go at the next
		// chance (a later attempt, or before the build shuts the machine
		// down); a build that never gets one fails, and makes no image.
		if !errors.Is(err, remote.ErrDisconnected) {
			if rerr := env.RemovePending(ctx); rerr != nil && err == nil {
				err = rerr
			}
		}
		if err == nil || ctx.Err() != nil {
			break
		}
	}
	return wrap(err)
}

func once(ctx context.Context, p spec.Provisioner, env *Env) error {
	if p.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, p.Timeout)
		defer cancel()
	}
	kind, ok := Kinds[p.Type]
	if !ok {
		return fmt.Errorf("unsupported provisioner type %q", p.Type)
	}
	err := kind.Run(ctx, p.Config, env)
	if p.Timeout > 0 && errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("timed out after %s: %w", p.Timeout, err)
	}
	return err
}

// exitStatus classifies a command error.
func exitStatus(err error) (int, bool) {
	var ee *remote.ExitError
	if errors.As(err, &ee) {
		return ee.Status, true
	}
	if err == nil {
		return 0, true
	}
	return 0, false
}

// MachineAccess is how a person, or Ansible, reaches the build's machine.
type MachineAccess struct {
	ID, Host, User string
	Port           int
	KeyPEM         string // "" when the build has no temporary key
	KeyFile        string // ssh_private_key_file, when the template has one
	HostKey        string // the pinned host key, authorized_keys form
	// Bastion is the jump host the build reaches the machine through
	// (ssh_bastion_*), or nil.
	Bastion *BastionAccess
}

// BastionAccess is how a local tool (ansible-playbook's ssh) reaches the
// machine through the build's bastion: with its key file or the agent,
// checking the host key the build pinned.
type BastionAccess struct {
	Host, User      string
	Port            int
	KeyFile         string // ssh_bastion_private_key_file
	CertificateFile string // ssh_bastion_certificate_file
	AgentAuth       bool   // ssh_bastion_agent_auth
	HasPassword     bool   // ssh_bastion_password: OpenSSH cannot be given it
	HostKey         string // the pinned host key, authorized_keys form
}
