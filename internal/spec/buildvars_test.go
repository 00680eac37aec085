package spec

import "testing"

func TestWithBuildVarsCopies(t *testing.T) {
	t.Parallel()
	orig := Provisioner{Type: "shell", Config: &Shell{
		Inline: []string{"echo " + BuildVarPlaceholder("Host")},
		Env:    map[string]string{"U": BuildVarPlaceholder("User")},
	}}
	got := orig.WithBuildVars(map[string]string{"Host": "192.0.2.7", "User": "root"})
	if got.Config.(*Shell).Inline[0] != "echo 192.0.2.7" || got.Config.(*Shell).Env["U"] != "root" {
		t.Errorf("replaced: %q %q", got.Config.(*Shell).Inline[0], got.Config.(*Shell).Env["U"])
	}
	if !HasBuildVars(orig.Config.(*Shell).Inline[0]) || !HasBuildVars(orig.Config.(*Shell).Env["U"]) {
		t.Errorf("the original provisioner was modified: %q %q", orig.Config.(*Shell).Inline[0], orig.Config.(*Shell).Env["U"])
	}
	if !ContainsBuildVar(orig) || ContainsBuildVar(got) {
		t.Errorf("ContainsBuildVar: original %v, replaced %v; want true, false", ContainsBuildVar(orig), ContainsBuildVar(got))
	}
}
