package app

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/vultr-image-action/vultr-image-action/internal/build"
)

// summaryMarkdown renders the job summary: one table row per build, the
// duration of each phase, and a timeline (a Mermaid Gantt chart, which
// GitHub renders in job summaries). Every text is redacted before it is
// escaped: escaping first would split a secret that holds "|" or ":" and
// hide it from the redactor.
func summaryMarkdown(results []*build.Result, redact func(string) string) string {
	cell := func(s string) string { return markdownCell(redact(s)) }
	mermaidText := func(s string) string { return mermaidText(redact(s)) }
	var b strings.Builder
	b.WriteString("### Vultr image build\n\n")
	if len(results) == 0 {
		b.WriteString("No build ran.\n")
		return b.String()
	}
	b.WriteString("| Build | Region | Plan | Image | Snapshot ID | Status | Duration |\n")
	b.WriteString("|---|---|---|---|---|---|---|\n")
	for _, r := range results {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s |\n",
			cell(r.Name), cell(r.Region), cell(r.Plan), cell(r.Image), cell(code(r.SnapshotID)), statusCell(r.Status), dur(r.Duration()))
	}
	writeProof(&b, results, cell)
	writeChecks(&b, results, cell)
	b.WriteString("\n#### Phases\n\n")
	b.WriteString("| Build | Phase | Duration | Result |\n|---|---|---|---|\n")
	for _, r := range results {
		for _, p := range r.Phases {
			res := "ok"
			if p.Err != nil {
				res = "failed"
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", cell(r.Name), cell(p.Name), dur(p.End.Sub(p.Start)), res)
		}
	}
	b.WriteString("\n#### Timeline\n\n```mermaid\ngantt\n  dateFormat x\n  axisFormat %M:%S\n")
	for _, r := range results {
		fmt.Fprintf(&b, "  section %s\n", mermaidText(r.Name))
		for _, p := range r.Phases {
			end := p.End
			if !end.After(p.Start) {
				end = p.Start.Add(time.Millisecond)
			}
			tag := ""
			if p.Err != nil {
				tag = "crit, "
			}
			fmt.Fprintf(&b, "  %s :%s%d, %d\n", mermaidText(p.Name), tag, p.Start.UnixMilli(), end.UnixMilli())
		}
	}
	b.WriteString("```\n")
	for _, r := range results {
		if r.Err != nil {
			fmt.Fprintf(&b, "\n**%s failed:** %s\n", cell(r.Name), cell(r.Err.Error()))
		}
	}
	return b.String()
}

func statusCell(s build.Status) string {
	switch s {
	case build.Succeeded:
		return "✅ succeeded"
	case build.Cancelled:
		return "⏹ cancelled"
	case "":
		return "not run"
	default:
		return "❌ failed"
	}
}

func code(s string) string {
	if s == "" {
		return ""
	}
	return "`" + s + "`"
}

func markdownCell(s string) string {
	if s == "" {
		return "–"
	}
	s = strings.ReplaceAll(s, "|", "\\|")
	return strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(s)
}

func mermaidText(s string) string {
	return strings.NewReplacer(":", " ", "#", " ", ";", " ", "\n", " ").Replace(s)
}

func dur(d time.Duration) string {
	switch {
	case d <= 0:
		return "0s"
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	default:
		return d.Round(100 * time.Millisecond).String()
	}
}

// writeChecks adds each snapshot check (vultr-verify): its result and how
// long the boot and the checks took.
func writeChecks(b *strings.Builder, results []*build.Result, cell func(string) string) {
	var rows []string
	for _, r := range results {
		for _, c := range r.Checks {
			res := "passed"
			if c.Err != nil {
				res = "failed: " + c.Err.Error()
			}
			rows = append(rows, fmt.Sprintf("| %s | %s | %s | %s |\n", cell(r.Name), cell(code(c.Snapshot)), cell(res), dur(c.Took)))
		}
	}
	if len(rows) == 0 {
		return
	}
	b.WriteString("\n#### Snapshot checks\n\n| Build | Snapshot | Check | Boot and checks |\n|---|---|---|---|\n")
	for _, row := range rows {
		b.WriteString(row)
	}
}

// writeProof adds, when a build made an SBOM or an attestation, what it
// proves: the package count and each statement with how it was signed.
func writeProof(b *strings.Builder, results []*build.Result, cell func(string) string) {
	var rows []string
	for _, r := range results {
		pkgs := "–"
		if r.SBOM != nil {
			pkgs = fmt.Sprintf("%d packages (%s)", r.SBOM.Packages, r.SBOM.Format)
		}
		att := "unattested"
		if len(r.Attestations) > 0 {
			var parts []string
			for _, a := range r.Attestations {
				parts = append(parts, fmt.Sprintf("%s: %s, signing %s", a.Kind, code(filepath.Base(a.Path)), a.Signing))
			}
			att = strings.Join(parts, "; ")
		}
		if r.SBOM != nil || len(r.Attestations) > 0 {
			rows = append(rows, fmt.Sprintf("| %s | %s | %s |\n", cell(r.Name), cell(pkgs), cell(att)))
		}
	}
	if len(rows) == 0 {
		return
	}
	b.WriteString("\n#### SBOM and attestations\n\n| Build | SBOM | Attestations |\n|---|---|---|\n")
	for _, row := range rows {
		b.WriteString(row)
	}
}
