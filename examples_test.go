package main

// Every example workflow's template validates with the inputs that
// workflow passes (one run per matrix value it uses).

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

type workflow struct {
	Jobs map[string]struct {
		Strategy struct {
			Matrix map[string]any `yaml:"matrix"`
		} `yaml:"strategy"`
		Steps []struct {
			Uses string            `yaml:"uses"`
			With map[string]string `yaml:"with"`
		} `yaml:"steps"`
	} `yaml:"jobs"`
}

var expression = regexp.MustCompile(`\$\{\{\s*([^}]*?)\s*\}\}`)

func TestExampleWorkflowsValidate(t *testing.T) {
	t.Parallel()
	files, _ := filepath.Glob("examples/workflows/*.yml")
	if len(files) == 0 {
		t.Fatal("no example workflows")
	}
	checked := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var w workflow
		if err := yaml.Unmarshal(b, &w); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for jobName, job := range w.Jobs {
			for _, step := range job.Steps {
				if !strings.Contains(step.Uses, "vultr-image-action") || step.With["template"] == "" {
					continue
				}
				for _, vars := range expand(step.With["variables"], job.Strategy.Matrix) {
					args := []string{"validate"}
					for _, v := range vars {
						args = append(args, "-var", v)
					}
					args = append(args, step.With["template"])
					cmd := exec.Command(binary, args...)
					cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
					if out, err := cmd.CombinedOutput(); err != nil {
						t.Errorf("%s, job %s: vultr-image-action %s: %v\n%s", f, jobName, strings.Join(args, " "), err, out)
					}
					checked++
				}
			}
		}
	}
	if checked < 3 {
		t.Errorf("checked %d example builds; the examples have more", checked)
	}
}

// expand turns a variables input into -var values, one set per value of
// the matrix key it uses; other expressions get a sample value.
func expand(input string, matrix map[string]any) [][]string {
	var lines []string
	for _, l := range strings.Split(input, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	values := []string{""}
	key := ""
	for _, l := range lines {
		for _, m := range expression.FindAllStringSubmatch(l, -1) {
			if k, ok := strings.CutPrefix(m[1], "matrix."); ok {
				if list, ok := matrix[k].([]any); ok {
					key, values = k, nil
					for _, v := range list {
						values = append(values, v.(string))
					}
				}
			}
		}
	}
	var out [][]string
	for _, v := range values {
		var set []string
		for _, l := range lines {
			set = append(set, expression.ReplaceAllStringFunc(l, func(e string) string {
				if key != "" && strings.Contains(e, "matrix."+key) {
					return v
				}
				return "v1.2.3"
			}))
		}
		out = append(out, set)
	}
	return out
}
