package main

// The fault-injection suite: seeded, reproducible cases that run the
// compiled binary against the emulator while the API misbehaves, machines
// drop connections, snapshots hang, and the process is interrupted or
// killed at each phase. After every case: no instance and no temporary key
// left (after the post step, for SIGKILL), the snapshot ID reported when a
// snapshot was made, no secret in any output, and an exit code that says
// what happened.
//
//	go test -run TestFaultInjection -faults=200 -v .

import (
	"bytes"
	"flag"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/vultr-image-action/vultr-image-action/internal/vultremu"
)

var (
	faultCases = flag.Int("faults", 24, "number of seeded fault-injection cases")
	faultSeed  = flag.Int64("fault-seed", 1, "seed of the fault-injection cases")
)

const faultSecret = "s3cr3t-fault-db-pw"

type faultCase struct {
	n      int
	name   string
	faults []vultremu.Fault
	// signal, when set, is sent once trigger() is true.
	signal  syscall.Signal
	trigger string // "preflight", "key", "instance", "provision", "snapshot"
	// template tweaks
	provision   string // inline shell command
	expectDisc  bool
	bootDelay   time.Duration
	sshd        bool
	wantSuccess bool
}

func faultPlan(seed int64, n int) []faultCase {
	rng := rand.New(rand.NewSource(seed))
	paths := []string{"^/v2/account$", "^/v2/ssh-keys$", "^/v2/instances$", "^/v2/instances/[^/]+$", "^/v2/snapshots$", "^/v2/snapshots/[^/]+$", "^/v2/regions"}
	methods := map[string]string{"^/v2/account$": "GET", "^/v2/ssh-keys$": "POST", "^/v2/instances$": "POST", "^/v2/instances/[^/]+$": "", "^/v2/snapshots$": "POST", "^/v2/snapshots/[^/]+$": "GET", "^/v2/regions": "GET"}
	var out []faultCase
	for i := 0; len(out) < n; i++ {
		c := faultCase{n: i, provision: "echo provisioning; echo \"pw is $DB_PASSWORD\"", wantSuccess: true, bootDelay: 50 * time.Millisecond}
		c.sshd = rng.Intn(5) == 0
		switch k := i % 12; k {
		case 0:
			c.name = "baseline"
		case 1:
			p := paths[rng.Intn(len(paths))]
			c.name = "429 on " + p
			c.faults = []vultremu.Fault{{Kind: vultremu.FaultStatus, Method: methods[p], Path: p, Status: 429, RetryAfter: 1, Count: 1 + rng.Intn(2)}}
		case 2:
			p := paths[rng.Intn(len(paths))]
			st := []int{500, 502, 503}[rng.Intn(3)]
			c.name = fmt.Sprintf("%d burst on %s", st, p)
			c.faults = []vultremu.Fault{{Kind: vultremu.FaultStatus, Method: methods[p], Path: p, Status: st, Count: 1 + rng.Intn(3)}}
		case 3:
			c.name = "slow API"
			c.faults = []vultremu.Fault{{Kind: vultremu.FaultDelay, Path: paths[rng.Intn(len(paths))], Delay: time.Duration(200+rng.Intn(800)) * time.Millisecond, Count: 2}}
		case 4:
			c.name = "create errors but created"
			c.faults = []vultremu.Fault{{Kind: vultremu.FaultCreateThenError, Status: []int{500, 502, 503}[rng.Intn(3)], Count: 1}}
		case 5:
			c.name = "locked on delete"
			c.faults = []vultremu.Fault{{Kind: vultremu.FaultLockedDelete, Count: 1 + rng.Intn(4)}}
		case 6:
			c.name = "hung snapshot"
			c.faults = []vultremu.Fault{{Kind: vultremu.FaultHangSnapshot, Count: 1}}
			c.wantSuccess = false
		case 7:
			c.name = "failed snapshot"
			c.faults = []vultremu.Fault{{Kind: vultremu.FaultFailSnapshot, Count: 1}}
			c.wantSuccess = false
		case 8:
			c.name = "SSH drops mid-command"
			c.provision = "echo before; reboot; sleep 2"
			c.wantSuccess = false
		case 9:
			c.name = "expected reboot"
			c.provision = "reboot; sleep 2"
			c.expectDisc = true
		default:
			sig := []syscall.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGKILL}[rng.Intn(3)]
			trig := []string{"preflight", "key", "instance", "provision", "snapshot"}[rng.Intn(5)]
			c.name = fmt.Sprintf("%s at %s", sig, trig)
			c.signal, c.trigger, c.wantSuccess = sig, trig, false
			switch trig {
			case "instance":
				c.bootDelay = time.Hour
			case "provision":
				c.provision = "touch /tmp/started; sleep 30"
			case "snapshot":
				c.faults = []vultremu.Fault{{Kind: vultremu.FaultHangSnapshot, Count: 1}}
			}
		}
		out = append(out, c)
	}
	return out
}

func faultTemplate(t *testing.T, c faultCase) string {
	t.Helper()
	prov := fmt.Sprintf(`{"type": "shell", "environment_vars": ["DB_PASSWORD={{user `+"`db_password`"+`}}"], "inline": [%q], "expect_disconnect": %v}`, c.provision, c.expectDisc)
	tmpl := fmt.Sprintf(`{
  "variables": {"key": "{{env `+"`VULTR_API_KEY`"+`}}", "db_password": %q},
  "sensitive-variables": ["db_password"],
  "builders": [{
    "type": "vultr", "api_key": "{{user `+"`key`"+`}}",
    "snapshot_description": "fault case %d", "region_id": "ewr", "plan_id": "vc2-1c-1gb", "os_id": "2284",
    "ssh_username": "root", "snapshot_timeout": "3s", "boot_timeout": "2m"
  }],
  "provisioners": [%s]
}`, faultSecret, c.n, prov)
	p := filepath.Join(t.TempDir(), "fault.json")
	if err := os.WriteFile(p, []byte(tmpl), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestFaultInjection(t *testing.T) {
	if os.Geteuid() != 0 && os.Getenv("CI") != "true" {
		t.Skip("needs root (emulated machines listen on port 22)")
	}
	cases := faultPlan(*faultSeed, *faultCases)
	var leaks, secretHits, failures atomic.Int64
	var mu sync.Mutex
	byKind := map[string]int{}
	t.Cleanup(func() {
		fmt.Printf("fault-injection: %d cases, %d leaks, %d secret hits, %d wrong outcomes (seed %d)\n", len(cases), leaks.Load(), secretHits.Load(), failures.Load(), *faultSeed)
	})
	for _, c := range cases {
		c := c
		t.Run(fmt.Sprintf("%03d %s", c.n, c.name), func(t *testing.T) {
			t.Parallel()
			mu.Lock()
			byKind[strings.SplitN(c.name, " ", 2)[0]]++
			mu.Unlock()
			sshd := ""
			if c.sshd {
				sshd = "/usr/sbin/sshd"
			}
			e := startEmulator(t, sshd, vultremu.Delays{InstancePending: 50 * time.Millisecond, InstanceBooting: c.bootDelay, SnapshotPending: 100 * time.Millisecond})
			for _, f := range c.faults {
				e.srv.Inject(f)
			}
			r := newActionRun(t, e, faultTemplate(t, c), nil)
			if err := r.cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- r.cmd.Wait() }()
			if c.signal != 0 {
				fired := false
				deadline := time.Now().Add(30 * time.Second)
				for !fired && time.Now().Before(deadline) {
					select {
					case err := <-done:
						done <- err
						deadline = time.Now() // finished before the trigger
						continue
					default:
					}
					switch c.trigger {
					case "preflight":
						// The first API call: the process is up and its
						// signal handler installed.
						fired = len(e.srv.Requests()) > 0
					case "key":
						fired = len(e.srv.SSHKeys()) > 0
					case "instance":
						fired = len(e.srv.Instances()) > 0
					case "provision":
						for _, ch := range e.srv.StateChanges() {
							fired = fired || ch.Field == "server_status" && ch.Value == "ok"
						}
						if fired {
							time.Sleep(300 * time.Millisecond) // into the provisioner
						}
					case "snapshot":
						fired = len(e.srv.Snapshots()) > 0
					}
					if !fired {
						time.Sleep(5 * time.Millisecond)
					}
				}
				if fired {
					_ = r.cmd.Process.Signal(c.signal)
				}
			}
			var err error
			select {
			case err = <-done:
			case <-time.After(90 * time.Second):
				_ = r.cmd.Process.Kill()
				err = <-done
				failures.Add(1)
				t.Errorf("case did not finish in 90s")
			}
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			}
			if c.signal == syscall.SIGKILL {
				// The post step cleans what the killed main step left.
				state := fileCommands(t, r.state)
				post := exec.Command(binary + "-post")
				post.Env = append(r.cmd.Env, stateEnv(state)...)
				var out bytes.Buffer
				post.Stdout, post.Stderr = &out, &out
				if perr := post.Run(); perr != nil {
					failures.Add(1)
					t.Errorf("post step: %v\n%s", perr, out.String())
				}
				r.stdout.Write(out.Bytes())
			}
			// Invariants.
			if n := len(e.srv.Instances()) + len(e.srv.SSHKeys()); n > 0 {
				leaks.Add(int64(n))
				t.Errorf("leaked %d resources", n)
			}
			all := r.stdout.String() + r.stderr.String()
			for _, f := range []string{r.output, r.summary} {
				b, _ := os.ReadFile(f)
				all += string(b)
			}
			cleaned := strings.ReplaceAll(all, "::add-mask::"+e.key+"\n", "")
			cleaned = strings.ReplaceAll(cleaned, "::add-mask::"+faultSecret+"\n", "")
			for _, s := range []string{e.key, faultSecret} {
				if strings.Contains(cleaned, s) {
					secretHits.Add(1)
					t.Errorf("secret %q in output", s)
				}
			}
			outputs := fileCommands(t, r.output)
			for _, s := range e.srv.Snapshots() {
				if s.Status == "complete" && c.signal == 0 && outputs["snapshot-id"] != s.ID && !strings.Contains(all, s.ID) {
					failures.Add(1)
					t.Errorf("snapshot %s was made but not reported", s.ID)
				}
			}
			switch {
			case c.wantSuccess && code != 0:
				failures.Add(1)
				t.Errorf("exit %d, want 0\n%s", code, tail(all))
			case !c.wantSuccess && code == 0 && c.signal == 0:
				failures.Add(1)
				t.Errorf("exit 0, want a failure")
			case (c.signal == syscall.SIGINT || c.signal == syscall.SIGTERM) && code != 130 && code != 0:
				failures.Add(1)
				t.Errorf("exit %d after %s, want 130", code, c.signal)
			case code != 0 && c.signal != syscall.SIGKILL && !strings.Contains(all, "::error"):
				failures.Add(1)
				t.Errorf("failed without an ::error annotation")
			}
		})
	}
}

func tail(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > 15 {
		lines = lines[len(lines)-15:]
	}
	return strings.Join(lines, "\n")
}
