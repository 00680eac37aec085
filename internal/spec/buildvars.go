package spec

import (
	"reflect"
	"strings"
)

// BuildVars are the values Packer gives provisioners at provision time:
// HCL2's build.ID, build.Host, ... and JSON's {{build `ID`}}. A template
// is evaluated before the machine exists, so the front ends leave a
// placeholder (BuildVarPlaceholder) that the build replaces once it knows
// the values (Provisioner.WithBuildVars).
var BuildVars = []string{
	"ID", "Host", "Port", "User", "Password", "ConnType", "PackerRunUUID",
	"PackerHTTPPort", "PackerHTTPIP", "PackerHTTPAddr", "SSHPublicKey", "SSHPrivateKey", "WinRMPassword",
}

// BuildVarPlaceholder stands for a build variable until provision time.
func BuildVarPlaceholder(name string) string { return "\x1e" + "build." + name + "\x1e" }

// HasBuildVars reports whether s holds a placeholder.
func HasBuildVars(s string) bool { return strings.Contains(s, "\x1ebuild.") }

// WithBuildVars returns a copy of p with every placeholder replaced by the
// build's values (a name missing from vals becomes "").
func (p Provisioner) WithBuildVars(vals map[string]string) Provisioner {
	pairs := make([]string, 0, 2*len(BuildVars))
	for _, name := range BuildVars {
		pairs = append(pairs, BuildVarPlaceholder(name), vals[name])
	}
	r := strings.NewReplacer(pairs...)
	v := reflect.ValueOf(&p).Elem()
	replaceStrings(v, r)
	return p
}

// replaceStrings rewrites every string reachable from v, copying what it
// changes (slices, maps and pointed-to structs), so the original spec is
// never modified.
func replaceStrings(v reflect.Value, r *strings.Replacer) {
	switch v.Kind() {
	case reflect.String:
		if v.CanSet() {
			v.SetString(r.Replace(v.String()))
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				replaceStrings(v.Field(i), r)
			}
		}
	case reflect.Interface:
		// A provisioner's Config: copy what it holds, then rewrite that.
		if v.IsNil() || !v.CanSet() {
			return
		}
		c := reflect.New(v.Elem().Type()).Elem()
		c.Set(v.Elem())
		replaceStrings(c, r)
		v.Set(c)
	case reflect.Pointer:
		if v.IsNil() || !v.CanSet() {
			return
		}
		c := reflect.New(v.Elem().Type())
		c.Elem().Set(v.Elem())
		replaceStrings(c.Elem(), r)
		v.Set(c)
	case reflect.Slice:
		if v.IsNil() || !v.CanSet() {
			return
		}
		c := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		reflect.Copy(c, v)
		for i := 0; i < c.Len(); i++ {
			replaceStrings(c.Index(i), r)
		}
		v.Set(c)
	case reflect.Map:
		if v.IsNil() || !v.CanSet() || v.Type().Elem().Kind() != reflect.String {
			return
		}
		c := reflect.MakeMapWithSize(v.Type(), v.Len())
		for _, k := range v.MapKeys() {
			c.SetMapIndex(k, reflect.ValueOf(r.Replace(v.MapIndex(k).String())).Convert(v.Type().Elem()))
		}
		v.Set(c)
	}
}

// ContainsBuildVar reports whether any string reachable from x holds a
// build-variable placeholder.
func ContainsBuildVar(x any) bool {
	found := false
	var walk func(v reflect.Value)
	walk = func(v reflect.Value) {
		switch v.Kind() {
		case reflect.String:
			found = found || HasBuildVars(v.String())
		case reflect.Struct:
			for i := 0; i < v.NumField(); i++ {
				if v.Type().Field(i).IsExported() {
					walk(v.Field(i))
				}
			}
		case reflect.Pointer, reflect.Interface:
			if !v.IsNil() {
				walk(v.Elem())
			}
		case reflect.Slice, reflect.Array:
			for i := 0; i < v.Len(); i++ {
				walk(v.Index(i))
			}
		case reflect.Map:
			for _, k := range v.MapKeys() {
				walk(v.MapIndex(k))
			}
		}
	}
	walk(reflect.ValueOf(x))
	return found
}
