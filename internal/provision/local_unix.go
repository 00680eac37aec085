//go:build unix

package provision

import (
	"os/exec"
	"syscall"
)

// killGroupOnCancel makes a cancelled command take its children with it.
func killGroupOnCancel(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
}
