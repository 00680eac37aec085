package sbom

import (
	"bytes"
	"testing"
	"time"

	spdxjson "github.com/spdx/tools-golang/json"
)

// The SPDX document reads back with spdx/tools-golang: the OS package
// describes the disk, and each installed package has its package URL.
func TestSPDX(t *testing.T) {
	t.Parallel()
	o := OS{ID: "debian", VersionID: "12", PrettyName: "Debian GNU/Linux 12 (bookworm)"}
	pkgs := []Package{{Type: "deb", Name: "openssl", Version: "3.0.15-1~deb12u1", Arch: "amd64"}, {Type: "deb", Name: "bash", Version: "5.2.15-2+b7", Arch: "amd64"}}
	b, err := Write(FormatSPDX, "web", o, pkgs, time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if f, err := Format(b); err != nil || f != FormatSPDX {
		t.Fatalf("Format = %q, %v", f, err)
	}
	if Count(b) != 3 {
		t.Errorf("Count = %d, want 3 (the OS and two packages)", Count(b))
	}
	doc, err := spdxjson.Read(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if doc.SPDXVersion != "SPDX-2.3" || doc.CreationInfo.Created != "2026-12-03T10:00:00Z" || len(doc.Packages) != 3 {
		t.Fatalf("document %s created %s with %d packages", doc.SPDXVersion, doc.CreationInfo.Created, len(doc.Packages))
	}
	if p := doc.Packages[0]; p.PackageName != "debian" || p.PackageVersion != "12" || p.PrimaryPackagePurpose != "OPERATING-SYSTEM" {
		t.Errorf("first package %+v, want the OS", p)
	}
	want := map[string]string{"bash": "pkg:deb/debian/bash@5.2.15-2%2Bb7?arch=amd64&distro=debian-12", "openssl": "pkg:deb/debian/openssl@3.0.15-1~deb12u1?arch=amd64&distro=debian-12"}
	for _, p := range doc.Packages[1:] {
		if len(p.PackageExternalReferences) != 1 || p.PackageExternalReferences[0].Locator != want[p.PackageName] || p.PackageExternalReferences[0].RefType != "purl" {
			t.Errorf("%s: references %+v, want %s", p.PackageName, p.PackageExternalReferences, want[p.PackageName])
		}
	}
	contains := 0
	for _, r := range doc.Relationships {
		if r.Relationship == "CONTAINS" && r.RefA.ElementRefID == "OS" {
			contains++
		}
	}
	if contains != 2 {
		t.Errorf("the OS contains %d packages, want 2", contains)
	}
	if _, err := Write("xml", "web", o, pkgs, time.Now()); err == nil {
		t.Error("an unknown format was written")
	}
}
