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
	"encoding/json"
	"flag"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/vultr-image-action/vultr-image-action/internal/ghaction/runnerlog"
	"github.com/vultr-image-action/vultr-image-action/internal/vultremu"
)

var (
	faultCases = flag.Int("faults", faultKinds, "number of seeded fault-injection cases (the default runs each kind once)")
	faultSeed  = flag.Int64("fault-seed", 1, "seed of the fault-injection cases")
)

const faultSecret = "s3cr3t-fault-db-pw"

// faultKinds is how many kinds of case faultPlan makes, in turn.
const faultKinds = 28

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
	// builders share one snapshot_description; keep is keep_snapshots.
	builders, keep int
	// retries is the shell provisioner's max_retries.
	retries int
	// env is added to the binary's environment.
	env []string
	// realTimeline runs the cloud's real timeline (install 90 s, boot 60 s,
	// snapshot 10 min), scaled by timeScale for emulator and client alike,
	// with the default snapshot timeout.
	realTimeline bool
	timeScale    float64
	// post runs the post step after the main step, whatever happened.
	post bool
	// loadFails makes the template (HCL2) fail to load with a sensitive
	// value in its error: nothing may be created, and nothing may show it.
	loadFails bool
	// injected are markers of workflow commands the machine prints: no
	// command the runner would run may hold one.
	injected []string
	// verify, when set, is the check a vultr-verify post-processor runs
	// on an instance of the new snapshot.
	verify string
}

// machineCommands is what case 23's provisioner prints: workflow commands
// hidden behind "\r", indentation, invisible characters and the runner's
// older ##[ syntax. None may reach the runner as a command.
const machineCommands = `printf 'progress 10%%\r::error title=x::injected-error\n'; ` +
	`printf 'done\r::add-mask::injected-mask\n'; ` +
	`printf '   ::set-output name=snapshot-id::injected-output\n'; ` +
	`printf 'ok ##[warning]injected-v1\r\n'; ` +
	`printf '\342\200\213::notice::injected-zwsp\n'; ` +
	`printf '::stop-commands::injected-stop\n::error::injected-after-stop\n'; ` +
	`echo "pw is $DB_PASSWORD"`

func faultPlan(seed int64, n int) []faultCase {
	rng := rand.New(rand.NewSource(seed))
	paths := []string{"^/v2/os$", "^/v2/ssh-keys$", "^/v2/instances$", "^/v2/instances/[^/]+$", "^/v2/snapshots$", "^/v2/snapshots/[^/]+$", "^/v2/regions"}
	methods := map[string]string{"^/v2/os$": "GET", "^/v2/ssh-keys$": "POST", "^/v2/instances$": "POST", "^/v2/instances/[^/]+$": "", "^/v2/snapshots$": "POST", "^/v2/snapshots/[^/]+$": "GET", "^/v2/regions": "GET"}
	var out []faultCase
	for i := 0; len(out) < n; i++ {
		c := faultCase{n: i, provision: "echo provisioning; echo \"pw is $DB_PASSWORD\"", wantSuccess: true, bootDelay: 50 * time.Millisecond, builders: 1}
		c.sshd = rng.Intn(5) == 0
		switch k := i % faultKinds; k {
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
		case 12:
			c.name = "parallel builds sharing a description, with retention"
			c.builders, c.keep = 2+rng.Intn(2), 1+rng.Intn(2)
		case 13:
			c.name = "lost snapshot-create answer"
			c.builders = 1 + rng.Intn(3)
			c.faults = []vultremu.Fault{{Kind: vultremu.FaultCreateThenError, Path: "^/v2/snapshots$", Status: []int{500, 502, 503}[rng.Intn(3)], Count: 1}}
		case 14:
			// Time-scaled: the create timeout is 1s (VULTR_CREATE_TIMEOUT)
			// and the answer comes after 2-4s, as 60s and 65s+ in real life.
			c.name = "create answered after the create timeout"
			c.env = []string{"VULTR_CREATE_TIMEOUT=1s"}
			c.faults = []vultremu.Fault{{Kind: vultremu.FaultSlowAnswer, Method: "POST", Path: "^/v2/instances$", Delay: time.Duration(2000+rng.Intn(2000)) * time.Millisecond, Count: 1}}
		case 15:
			// The install (real: 90 s, scaled to 7-10 s) outlasts the cancel
			// budget: Vultr refuses the delete; the post step waits it out.
			c.name = "cancel during the install lock, real timeline"
			c.signal, c.trigger, c.wantSuccess = []syscall.Signal{syscall.SIGINT, syscall.SIGTERM}[rng.Intn(2)], "instance", false
			c.realTimeline, c.timeScale, c.post = true, 0.08+0.03*rng.Float64(), true
		case 16:
			c.name = "sensitive variable with a retried provisioner"
			c.retries = 1 + rng.Intn(2)
			c.provision = "if [ ! -f /root/tried ]; then touch /root/tried; exit 1; fi; echo \"pw is $DB_PASSWORD\""
		case 17:
			c.name = "long lines with secrets at chunk boundaries"
			n := 65536 - 40 + rng.Intn(80)
			c.provision = fmt.Sprintf("head -c %d /dev/zero | tr '\\0' a; printf '%%s' \"$DB_PASSWORD\"; head -c %d /dev/zero | tr '\\0' b; echo", n, 3000+rng.Intn(70000))
		case 18:
			c.name = "real timeline, time-scaled"
			c.realTimeline, c.timeScale = true, 0.01 // snapshot 6 s
		case 19:
			c.name = "400 for a deleted instance"
			c.faults = []vultremu.Fault{{Kind: vultremu.FaultDeleteThenError, Count: 1}}
		case 20:
			c.name = "JSON with media-type parameters"
			ct := []string{"application/json; charset=utf-8", "application/json;charset=UTF-8", "application/problem+json"}[rng.Intn(3)]
			c.faults = []vultremu.Fault{{Kind: vultremu.FaultMediaType, ContentType: ct, Probability: 0.5 + 0.5*rng.Float64()}}
		case 21:
			p := paths[rng.Intn(len(paths))]
			c.name = "empty 2xx bodies on " + p
			c.faults = []vultremu.Fault{{Kind: vultremu.FaultEmptyBody, Method: methods[p], Path: p, Count: 1 + rng.Intn(2)}}
		case 22:
			p := []string{"^/v2/instances$", "^/v2/snapshots$", "^/v2/ssh-keys$"}[rng.Intn(3)]
			prob := []float64{0.3, 0.5}[rng.Intn(2)]
			ra := []int{0, 1}[rng.Intn(2)]
			c.name = fmt.Sprintf("429 storm on creates (%s, %.0f%%, Retry-After %d)", p, prob*100, ra)
			c.faults = []vultremu.Fault{{Kind: vultremu.FaultStatus, Method: "POST", Path: p, Status: 429, RetryAfter: ra, Probability: prob}}
		case 23:
			c.name = "machine output with \\r and ::"
			c.provision = machineCommands
			c.injected = []string{"injected-"}
		case 24:
			c.name = "failing load with a sensitive value"
			c.loadFails, c.wantSuccess = true, false
		case 25:
			c.name = "late-appearing duplicate create"
			c.faults = []vultremu.Fault{{Kind: vultremu.FaultCreateThenError, Status: []int{500, 502, 503}[rng.Intn(3)], Delay: time.Duration(200+rng.Intn(600)) * time.Millisecond, Count: 1}}
		case 26:
			c.verify = "test -f /root/who"
			switch rng.Intn(4) {
			case 0:
				c.name = "checked snapshot"
			case 1:
				c.name = "checked snapshot, locked on delete"
				c.faults = []vultremu.Fault{{Kind: vultremu.FaultLockedDelete, Count: 2 + rng.Intn(3)}}
			case 2:
				c.name = "checked snapshot, creates error but create"
				c.faults = []vultremu.Fault{{Kind: vultremu.FaultCreateThenError, Status: 502, Probability: 0.5}}
			default:
				c.name = "checked snapshot that never boots"
				c.faults = []vultremu.Fault{{Kind: vultremu.FaultSnapshotBootFail}}
				c.wantSuccess = false
			}
		case 27:
			sig := []syscall.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGKILL}[rng.Intn(3)]
			c.name = fmt.Sprintf("%s during the snapshot's check", sig)
			c.verify, c.signal, c.trigger, c.wantSuccess = "true", sig, "verify", false
			c.faults = []vultremu.Fault{{Kind: vultremu.FaultSnapshotBootFail}}
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

// faultLoadTemplate is an HCL2 template whose sensitive variable reaches a
// function that fails: the error would quote the value.
const faultLoadTemplate = `variable "key" {
  type    = string
  default = env("VULTR_API_KEY")
}
variable "db_password" {
  type      = string
  sensitive = true
  default   = "` + faultSecret + `"
}
locals {
  decoded = base64decode(var.db_password)
}
source "vultr" "b0" {
  api_key              = var.key
  region_id            = "ewr"
  plan_id              = "vc2-1c-1gb"
  os_id                = 2284
  ssh_username         = "root"
  snapshot_description = local.decoded
}
build {
  sources = ["source.vultr.b0"]
}
`

func faultTemplate(t *testing.T, c faultCase) string {
	t.Helper()
	if c.loadFails {
		p := filepath.Join(t.TempDir(), "fault.pkr.hcl")
		if err := os.WriteFile(p, []byte(faultLoadTemplate), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	timeout := `"snapshot_timeout": "3s", `
	if c.realTimeline {
		timeout = "" // the default, from the disk's size
	}
	prov := fmt.Sprintf(`{"type": "shell", "environment_vars": ["DB_PASSWORD={{user `+"`db_password`"+`}}"], "inline": [%q], "expect_disconnect": %v, "max_retries": %d},
    {"type": "shell", "inline": ["echo $PACKER_BUILD_NAME > /root/who"]}`, c.provision, c.expectDisc, c.retries)
	var builders []string
	for b := 0; b < c.builders; b++ {
		builders = append(builders, fmt.Sprintf(`{
    "type": "vultr", "name": "b%d", "api_key": "{{user `+"`key`"+`}}",
    "snapshot_description": "fault case %d", "region_id": "ewr", "plan_id": "vc2-1c-1gb", "os_id": "2284",
    "ssh_username": "root", %s"boot_timeout": "2m", "keep_snapshots": %d
  }`, b, c.n, timeout, c.keep))
	}
	pps := ""
	if c.verify != "" {
		pps = fmt.Sprintf(`,
  "post-processors": [{"type": "vultr-verify", "timeout": "8s", "inline": [%q]}]`, c.verify)
	}
	tmpl := fmt.Sprintf(`{
  "variables": {"key": "{{env `+"`VULTR_API_KEY`"+`}}", "db_password": %q},
  "sensitive-variables": ["db_password"],
  "builders": [%s],
  "provisioners": [%s]%s
}`, faultSecret, strings.Join(builders, ","), prov, pps)
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
			delays := vultremu.Delays{InstancePending: 50 * time.Millisecond, InstanceBooting: c.bootDelay, SnapshotPending: 100 * time.Millisecond}
			if c.realTimeline {
				delays = vultremu.RealTimeline
				c.env = append(c.env, fmt.Sprintf("VIA_TEST_TIME_SCALE=%g", c.timeScale))
			}
			e := startScaledEmulator(t, sshd, delays, c.timeScale)
			for _, f := range c.faults {
				e.srv.Inject(f)
			}
			var older []string // an earlier run's snapshots, for retention to judge
			if c.keep > 0 {
				for o := 0; o < 3; o++ {
					older = append(older, e.srv.SeedSnapshot(vultremu.Snapshot{Description: fmt.Sprintf("fault case %d", c.n), DateCreated: time.Now().Add(-time.Duration(o+1) * time.Hour).UTC().Format("2006-01-02T15:04:05+00:00")}))
				}
			}
			tmpl := faultTemplate(t, c)
			r := newActionRun(t, e, tmpl, nil)
			if c.loadFails {
				// The action reads it as HCL2 by its name.
				src, _ := os.ReadFile(tmpl)
				if err := os.WriteFile(filepath.Join(r.workspace, "packer", "server.pkr.hcl"), src, 0o644); err != nil {
					t.Fatal(err)
				}
				r.cmd.Env = append(r.cmd.Env, "INPUT_TEMPLATE=packer/server.pkr.hcl")
			}
			r.cmd.Env = append(r.cmd.Env, c.env...)
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
					case "verify":
						fired = slices.ContainsFunc(e.srv.Instances(), func(in vultremu.Instance) bool { return in.SnapshotID != "" })
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
			if c.signal == syscall.SIGKILL || c.post {
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
			// A snapshot still pending when its wait ended keeps its instance
			// (deleting it may spoil the snapshot): the run must say so, with
			// the command that deletes it, which then works.
			if c.signal == 0 && slices.ContainsFunc(c.faults, func(f vultremu.Fault) bool { return f.Kind == vultremu.FaultHangSnapshot }) {
				cleanupKept(t, e, r.stdout.String()+r.stderr.String(), &failures)
			}
			if slices.ContainsFunc(c.faults, func(f vultremu.Fault) bool { return f.Kind == vultremu.FaultDeleteThenError }) &&
				!slices.ContainsFunc(e.srv.Requests(), func(r vultremu.Request) bool { return r.Method == "DELETE" && r.Status == 400 }) {
				failures.Add(1)
				t.Errorf("the case never met Vultr's 400 for a deleted instance")
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
			// The runner would run only the tool's own commands: none that
			// the machine printed, and nothing at all for a template that
			// failed to load but its annotations.
			for _, cmd := range runnerlog.Commands(r.stdout.String() + r.stderr.String()) {
				if slices.ContainsFunc(append(c.injected, "injected-"), func(m string) bool { return strings.Contains(cmd.Line, m) }) {
					failures.Add(1)
					t.Errorf("the runner would run %q from the machine's output", cmd.Line)
				}
			}
			if c.loadFails {
				if code != 2 {
					failures.Add(1)
					t.Errorf("exit %d for a template that does not load, want 2", code)
				}
				for _, req := range e.srv.Requests() {
					failures.Add(1)
					t.Errorf("a template that does not load sent %s %s", req.Method, req.Path)
				}
			}
			if slices.ContainsFunc(c.faults, func(f vultremu.Fault) bool { return f.Kind == vultremu.FaultCreateThenError && f.Delay > 0 }) &&
				!strings.Contains(all, "its create had no clear answer") {
				failures.Add(1)
				t.Errorf("the late-appearing instance was not deleted by its run tag:\n%s", tail(all))
			}
			outputs := fileCommands(t, r.output)
			// No image holds the secret, and each build's snapshot is its own.
			for _, s := range e.srv.Snapshots() {
				if dir, ok := e.ms.SnapshotDir(s.ID); ok && treeHolds(dir, faultSecret) {
					secretHits.Add(1)
					t.Errorf("snapshot %s holds the secret", s.ID)
				}
			}
			var ids map[string]string
			_ = json.Unmarshal([]byte(outputs["snapshot-ids"]), &ids)
			for b, id := range ids {
				if who := imageFile(e, id, "root/who"); who != b {
					failures.Add(1)
					t.Errorf("build %s reports snapshot %s, which is build %q's image", b, id, who)
				}
			}
			if code == 0 && c.keep > 0 {
				left := map[string]bool{}
				for _, s := range e.srv.Snapshots() {
					left[s.ID] = true
				}
				for b, id := range ids {
					if !left[id] {
						failures.Add(1)
						t.Errorf("retention deleted build %s's new snapshot %s", b, id)
					}
				}
				kept := 0
				for _, id := range older {
					if left[id] {
						kept++
					}
				}
				if want := max(c.keep-len(ids), 0); kept != want {
					failures.Add(1)
					t.Errorf("retention kept %d of the earlier snapshots, want %d (keep %d, this run made %d)", kept, want, c.keep, len(ids))
				}
			}
			for _, s := range e.srv.Snapshots() {
				if slices.Contains(older, s.ID) {
					continue
				}
				if s.Status == "complete" && c.signal == 0 && outputs["snapshot-id"] != s.ID && !strings.Contains(all, s.ID) {
					failures.Add(1)
					t.Errorf("snapshot %s was made but not reported:\n%s", s.ID, tail(all))
				}
			}
			// A snapshot that failed its check is deleted; one that passed
			// is reported.
			if c.verify != "" && c.signal == 0 {
				for _, s := range e.srv.Snapshots() {
					if !c.wantSuccess && !slices.Contains(older, s.ID) {
						failures.Add(1)
						t.Errorf("snapshot %s failed its check and was not deleted", s.ID)
					}
				}
				if want := map[bool]string{true: "true", false: "false"}[c.wantSuccess]; outputs["verified"] != want {
					failures.Add(1)
					t.Errorf("output verified = %q, want %q", outputs["verified"], want)
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

// treeHolds reports whether any file under dir contains s.
func treeHolds(dir, s string) bool {
	found := false
	_ = filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			if b, _ := os.ReadFile(p); bytes.Contains(b, []byte(s)) {
				found = true
			}
		}
		return nil
	})
	return found
}

// imageFile reads a file (a path under /) from a snapshot's disk.
func imageFile(e *emu, snapshotID, path string) string {
	dir, ok := e.ms.SnapshotDir(snapshotID)
	if !ok {
		return ""
	}
	for _, layer := range []string{"upper", "fs"} {
		if b, err := os.ReadFile(filepath.Join(dir, layer, path)); err == nil {
			return strings.TrimSpace(string(b))
		}
	}
	return ""
}

func tail(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > 15 {
		lines = lines[len(lines)-15:]
	}
	return strings.Join(lines, "\n")
}

// cleanupKept checks that each instance left is named with its cleanup
// command in the output, and runs that command.
func cleanupKept(t *testing.T, e *emu, out string, failures *atomic.Int64) {
	t.Helper()
	for _, in := range e.srv.Instances() {
		cmd := "vultr-image-action cleanup -instance " + in.ID
		if !strings.Contains(out, cmd) || !strings.Contains(out, "still pending") {
			failures.Add(1)
			t.Errorf("instance %s was kept without saying why and how to delete it:\n%s", in.ID, tail(out))
			continue
		}
		del := exec.Command(binary, "cleanup", "-instance", in.ID)
		del.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "VULTR_API_KEY=" + e.key, "VULTR_API_URL=" + e.url}
		if b, err := del.CombinedOutput(); err != nil {
			failures.Add(1)
			t.Errorf("%s: %v\n%s", cmd, err, b)
		}
	}
}
