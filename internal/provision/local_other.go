//go:build !unix

package provision

import "os/exec"

// killGroupOnCancel: without process groups, the command alone is killed.
func killGroupOnCancel(*exec.Cmd) {}
