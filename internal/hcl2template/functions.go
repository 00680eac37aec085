package hcl2template

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hashicorp/go-cty-funcs/cidr"
	"github.com/hashicorp/go-cty-funcs/collection"
	"github.com/hashicorp/go-cty-funcs/crypto"
	"github.com/hashicorp/go-cty-funcs/encoding"
	"github.com/hashicorp/go-cty-funcs/filesystem"
	uuidfuncs "github.com/hashicorp/go-cty-funcs/uuid"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/tryfunc"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	ctyyaml "github.com/zclconf/go-cty-yaml"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
	textencoding "golang.org/x/text/encoding"
	"golang.org/x/text/encoding/ianaindex"
)

// functions is Packer 1.16's HCL2 function library (hcl2template/
// functions.go registers the same names; TestFunctionLibrary keeps the two
// lists equal), plus env() where Packer allows it: in variable defaults.
// Relative paths resolve as Packer's do: against the template's directory
// (path.root) for file, fileexists, fileset and templatefile, and against
// the working directory for abspath and filebase64.
func (l *loader) functions(allowEnv bool) map[string]function.Function {
	base := l.dir
	fs := map[string]function.Function{
		"abs":                    stdlib.AbsoluteFunc,
		"abspath":                filesystem.AbsPathFunc,
		"alltrue":                boolListFunc(true),
		"anytrue":                boolListFunc(false),
		"aws_secretsmanager":     unavailable("aws_secretsmanager", "pass the secret in as a sensitive variable (for example from a workflow secret)"),
		"aws_secretsmanager_raw": unavailable("aws_secretsmanager_raw", "pass the secret in as a sensitive variable (for example from a workflow secret)"),
		"base64decode":           encoding.Base64DecodeFunc,
		"base64encode":           encoding.Base64EncodeFunc,
		"base64gzip":             base64GzipFunc,
		"basename":               filesystem.BasenameFunc,
		"bcrypt":                 crypto.BcryptFunc,
		"can":                    tryfunc.CanFunc,
		"ceil":                   stdlib.CeilFunc,
		"chomp":                  stdlib.ChompFunc,
		"chunklist":              stdlib.ChunklistFunc,
		"cidrhost":               cidr.HostFunc,
		"cidrnetmask":            cidr.NetmaskFunc,
		"cidrsubnet":             cidr.SubnetFunc,
		"cidrsubnets":            cidr.SubnetsFunc,
		"coalesce":               collection.CoalesceFunc,
		"coalescelist":           stdlib.CoalesceListFunc,
		"compact":                stdlib.CompactFunc,
		"concat":                 stdlib.ConcatFunc,
		"consul_key":             consulKeyFunc(l.opts.Getenv, &l.secrets, l.opts.Fetches),
		"contains":               stdlib.ContainsFunc,
		"convert":                typeexpr.ConvertFunc,
		"csvdecode":              stdlib.CSVDecodeFunc,
		"dirname":                filesystem.DirnameFunc,
		"distinct":               stdlib.DistinctFunc,
		"element":                stdlib.ElementFunc,
		"endswith":               stringTestFunc(strings.HasSuffix),
		"file":                   filesystem.MakeFileFunc(base, false),
		"filebase64":             filesystem.MakeFileFunc(l.cwd(), true),
		"fileexists":             filesystem.MakeFileExistsFunc(base),
		"fileset":                filesystem.MakeFileSetFunc(base),
		"flatten":                stdlib.FlattenFunc,
		"floor":                  stdlib.FloorFunc,
		"format":                 stdlib.FormatFunc,
		"formatdate":             stdlib.FormatDateFunc,
		"formatlist":             stdlib.FormatListFunc,
		"indent":                 stdlib.IndentFunc,
		"index":                  indexFunc,
		"join":                   stdlib.JoinFunc,
		"jsondecode":             stdlib.JSONDecodeFunc,
		"jsonencode":             stdlib.JSONEncodeFunc,
		"keys":                   stdlib.KeysFunc,
		"legacy_isotime":         legacyIsotimeFunc(l.opts.Now),
		"legacy_strftime":        legacyStrftimeFunc(l.opts.Now),
		"length":                 lengthFunc,
		"log":                    stdlib.LogFunc,
		"lookup":                 stdlib.LookupFunc,
		"lower":                  stdlib.LowerFunc,
		"max":                    stdlib.MaxFunc,
		"md5":                    crypto.Md5Func,
		"merge":                  stdlib.MergeFunc,
		"min":                    stdlib.MinFunc,
		"parseint":               stdlib.ParseIntFunc,
		"pathexpand":             filesystem.PathExpandFunc,
		"pow":                    stdlib.PowFunc,
		"range":                  stdlib.RangeFunc,
		"regex":                  stdlib.RegexFunc,
		"regex_replace":          stdlib.RegexReplaceFunc,
		"regexall":               stdlib.RegexAllFunc,
		"replace":                stdlib.ReplaceFunc,
		"reverse":                stdlib.ReverseListFunc,
		"rfc3339_parse":          rfc3339ParseFunc,
		"rsadecrypt":             crypto.RsaDecryptFunc,
		"setintersection":        stdlib.SetIntersectionFunc,
		"setproduct":             stdlib.SetProductFunc,
		"setunion":               stdlib.SetUnionFunc,
		"sha1":                   crypto.Sha1Func,
		"sha256":                 crypto.Sha256Func,
		"sha512":                 crypto.Sha512Func,
		"signum":                 stdlib.SignumFunc,
		"slice":                  stdlib.SliceFunc,
		"sort":                   stdlib.SortFunc,
		"split":                  stdlib.SplitFunc,
		"startswith":             stringTestFunc(strings.HasPrefix),
		"strcontains":            stringTestFunc(strings.Contains),
		"strrev":                 stdlib.ReverseFunc,
		"substr":                 stdlib.SubstrFunc,
		"sum":                    sumFunc,
		"textdecodebase64":       textDecodeBase64Func,
		"textencodebase64":       textEncodeBase64Func,
		"timeadd":                stdlib.TimeAddFunc,
		"timestamp":              timestampFunc(l.opts.Now),
		"title":                  stdlib.TitleFunc,
		"trim":                   stdlib.TrimFunc,
		"trimprefix":             stdlib.TrimPrefixFunc,
		"trimspace":              stdlib.TrimSpaceFunc,
		"trimsuffix":             stdlib.TrimSuffixFunc,
		"try":                    tryfunc.TryFunc,
		"unix_timestamp_parse":   unixTimestampParseFunc,
		"upper":                  stdlib.UpperFunc,
		"urlencode":              encoding.URLEncodeFunc,
		"uuidv4":                 uuidfuncs.V4Func,
		"uuidv5":                 uuidfuncs.V5Func,
		"values":                 stdlib.ValuesFunc,
		"vault":                  vaultFunc(l.opts.Getenv, &l.secrets, l.opts.Fetches),
		"yamldecode":             ctyyaml.YAMLDecodeFunc,
		"yamlencode":             ctyyaml.YAMLEncodeFunc,
		"zipmap":                 stdlib.ZipmapFunc,
	}
	fs["templatefile"] = templateFileFunc(base, fs)
	getenv := l.opts.Getenv
	fs["env"] = function.New(&function.Spec{Params: []function.Parameter{{Name: "name", Type: cty.String}}, Type: function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			if !allowEnv {
				return cty.NilVal, fmt.Errorf("env() can only be used in variable defaults, as in Packer")
			}
			return cty.StringVal(getenv(args[0].AsString())), nil
		}})
	return fs
}

// unavailable is a function that needs a service this tool does not reach.
func unavailable(name, instead string) function.Function {
	return function.New(&function.Spec{
		VarParam: &function.Parameter{Name: "args", Type: cty.DynamicPseudoType, AllowNull: true, AllowUnknown: true},
		Type:     function.StaticReturnType(cty.String),
		Impl: func([]cty.Value, cty.Type) (cty.Value, error) {
			return cty.NilVal, fmt.Errorf("%s() is not supported by vultr-image-action: %s", name, instead)
		},
	})
}

// --- strings and collections -------------------------------------------

func stringTestFunc(test func(s, sub string) bool) function.Function {
	return function.New(&function.Spec{
		Params: []function.Parameter{{Name: "str", Type: cty.String}, {Name: "substr", Type: cty.String}},
		Type:   function.StaticReturnType(cty.Bool),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			return cty.BoolVal(test(args[0].AsString(), args[1].AsString())), nil
		},
	})
}

// boolListFunc is alltrue (all) or anytrue (!all).
func boolListFunc(all bool) function.Function {
	return function.New(&function.Spec{
		Params: []function.Parameter{{Name: "list", Type: cty.List(cty.Bool)}},
		Type:   function.StaticReturnType(cty.Bool),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			result := all
			for it := args[0].ElementIterator(); it.Next(); {
				_, v := it.Element()
				if v.IsNull() {
					if all {
						return cty.False, nil
					}
					continue
				}
				if v.True() != all {
					return cty.BoolVal(!all), nil
				}
			}
			return cty.BoolVal(result), nil
		},
	})
}

var sumFunc = function.New(&function.Spec{
	Params: []function.Parameter{{Name: "list", Type: cty.DynamicPseudoType}},
	Type:   function.StaticReturnType(cty.Number),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		v := args[0]
		if !v.CanIterateElements() || v.LengthInt() == 0 {
			return cty.NilVal, fmt.Errorf("sum() needs a non-empty list or set of numbers")
		}
		total := new(big.Float)
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			n, err := convert.Convert(e, cty.Number)
			if err != nil || n.IsNull() {
				return cty.NilVal, fmt.Errorf("sum() needs numbers: %v", err)
			}
			total.Add(total, n.AsBigFloat())
		}
		return cty.NumberVal(total), nil
	},
})

// indexFunc finds an element in a list, as Packer's own index() does
// (stdlib's IndexFunc indexes a collection by key instead).
var indexFunc = function.New(&function.Spec{
	Params: []function.Parameter{{Name: "list", Type: cty.DynamicPseudoType}, {Name: "value", Type: cty.DynamicPseudoType}},
	Type:   function.StaticReturnType(cty.Number),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		if !(args[0].Type().IsListType() || args[0].Type().IsTupleType()) {
			return cty.NilVal, fmt.Errorf("index() needs a list")
		}
		for it := args[0].ElementIterator(); it.Next(); {
			i, e := it.Element()
			if eq, err := stdlib.Equal(e, args[1]); err == nil && eq.IsKnown() && eq.True() {
				return i, nil
			}
		}
		return cty.NilVal, fmt.Errorf("item not found")
	},
})

// lengthFunc counts a string's characters or a collection's elements.
var lengthFunc = function.New(&function.Spec{
	Params: []function.Parameter{{Name: "value", Type: cty.DynamicPseudoType, AllowDynamicType: true}},
	Type:   function.StaticReturnType(cty.Number),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		v := args[0]
		if v.Type() == cty.String {
			return stdlib.Strlen(v)
		}
		if !v.CanIterateElements() {
			return cty.NilVal, fmt.Errorf("length() needs a string, a list, a map or an object, not %s", v.Type().FriendlyName())
		}
		return cty.NumberIntVal(int64(v.LengthInt())), nil
	},
})

// --- encodings -----------------------------------------------------------

var base64GzipFunc = function.New(&function.Spec{
	Params: []function.Parameter{{Name: "str", Type: cty.String}},
	Type:   function.StaticReturnType(cty.String),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		var b bytes.Buffer
		w := gzip.NewWriter(&b)
		if _, err := w.Write([]byte(args[0].AsString())); err != nil {
			return cty.NilVal, err
		}
		if err := w.Close(); err != nil {
			return cty.NilVal, err
		}
		return cty.StringVal(base64.StdEncoding.EncodeToString(b.Bytes())), nil
	},
})

// ianaEncoding is a text encoding by its IANA name ("UTF-16LE").
func ianaEncoding(name string) (textencoding.Encoding, error) {
	enc, err := ianaindex.IANA.Encoding(name)
	if err != nil || enc == nil {
		return nil, fmt.Errorf("%q is not a supported IANA encoding name", name)
	}
	return enc, nil
}

var textEncodeBase64Func = function.New(&function.Spec{
	Params: []function.Parameter{{Name: "string", Type: cty.String}, {Name: "encoding", Type: cty.String}},
	Type:   function.StaticReturnType(cty.String),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		enc, err := ianaEncoding(args[1].AsString())
		if err != nil {
			return cty.NilVal, err
		}
		out, err := enc.NewEncoder().Bytes([]byte(args[0].AsString()))
		if err != nil {
			return cty.NilVal, fmt.Errorf("the text cannot be encoded as %s: %w", args[1].AsString(), err)
		}
		return cty.StringVal(base64.StdEncoding.EncodeToString(out)), nil
	},
})

var textDecodeBase64Func = function.New(&function.Spec{
	Params: []function.Parameter{{Name: "source", Type: cty.String}, {Name: "encoding", Type: cty.String}},
	Type:   function.StaticReturnType(cty.String),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		enc, err := ianaEncoding(args[1].AsString())
		if err != nil {
			return cty.NilVal, err
		}
		raw, err := base64.StdEncoding.DecodeString(args[0].AsString())
		if err != nil {
			return cty.NilVal, fmt.Errorf("the source is not valid base64: %w", err)
		}
		out, err := enc.NewDecoder().Bytes(raw)
		if err != nil || !utf8.Valid(out) {
			return cty.NilVal, fmt.Errorf("the source is not valid %s", args[1].AsString())
		}
		return cty.StringVal(string(out)), nil
	},
})

// --- time ----------------------------------------------------------------

func timestampFunc(now time.Time) function.Function {
	return function.New(&function.Spec{
		Type: function.StaticReturnType(cty.String),
		Impl: func([]cty.Value, cty.Type) (cty.Value, error) {
			return cty.StringVal(now.UTC().Format(time.RFC3339)), nil
		},
	})
}

// legacyIsotimeFunc is JSON's {{isotime}}: a Go reference-time layout.
func legacyIsotimeFunc(now time.Time) function.Function {
	return function.New(&function.Spec{
		Params: []function.Parameter{{Name: "format", Type: cty.String}},
		Type:   function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			return cty.StringVal(now.UTC().Format(args[0].AsString())), nil
		},
	})
}

// legacyStrftimeFunc is JSON's {{strftime}}: C strftime directives.
func legacyStrftimeFunc(now time.Time) function.Function {
	return function.New(&function.Spec{
		Params: []function.Parameter{{Name: "format", Type: cty.String}},
		Type:   function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			return cty.StringVal(strftime(now.UTC(), args[0].AsString())), nil
		},
	})
}

// strftime renders the common C directives.
func strftime(t time.Time, f string) string {
	layouts := map[byte]string{'Y': "2006", 'y': "06", 'm': "01", 'd': "02", 'e': "_2", 'H': "15", 'I': "03", 'M': "04", 'S': "05",
		'p': "PM", 'b': "Jan", 'h': "Jan", 'B': "January", 'a': "Mon", 'A': "Monday", 'Z': "MST", 'z': "-0700", 'j': "002",
		'F': "2006-01-02", 'T': "15:04:05", 'D': "01/02/06", 'R': "15:04"}
	var b strings.Builder
	for i := 0; i < len(f); i++ {
		if f[i] != '%' || i+1 == len(f) {
			b.WriteByte(f[i])
			continue
		}
		i++
		switch c := f[i]; {
		case c == '%':
			b.WriteByte('%')
		case c == 's':
			fmt.Fprint(&b, t.Unix())
		case layouts[c] != "":
			b.WriteString(t.Format(layouts[c]))
		default:
			b.WriteByte('%')
			b.WriteByte(c)
		}
	}
	return b.String()
}

var timeObject = cty.Object(map[string]cty.Type{
	"year": cty.Number, "year_day": cty.Number, "day": cty.Number, "month": cty.Number, "month_name": cty.String,
	"weekday": cty.Number, "weekday_name": cty.String, "hour": cty.Number, "minute": cty.Number, "second": cty.Number,
	"iso_year": cty.Number, "iso_week": cty.Number,
})

func timeValue(t time.Time) cty.Value {
	isoYear, isoWeek := t.ISOWeek()
	return cty.ObjectVal(map[string]cty.Value{
		"year": cty.NumberIntVal(int64(t.Year())), "year_day": cty.NumberIntVal(int64(t.YearDay())),
		"day": cty.NumberIntVal(int64(t.Day())), "month": cty.NumberIntVal(int64(t.Month())), "month_name": cty.StringVal(t.Month().String()),
		"weekday": cty.NumberIntVal(int64(t.Weekday())), "weekday_name": cty.StringVal(t.Weekday().String()),
		"hour": cty.NumberIntVal(int64(t.Hour())), "minute": cty.NumberIntVal(int64(t.Minute())), "second": cty.NumberIntVal(int64(t.Second())),
		"iso_year": cty.NumberIntVal(int64(isoYear)), "iso_week": cty.NumberIntVal(int64(isoWeek)),
	})
}

var rfc3339ParseFunc = function.New(&function.Spec{
	Params: []function.Parameter{{Name: "timestamp", Type: cty.String}},
	Type:   function.StaticReturnType(timeObject),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		t, err := time.Parse(time.RFC3339, args[0].AsString())
		if err != nil {
			return cty.NilVal, fmt.Errorf("%q is not an RFC 3339 timestamp", args[0].AsString())
		}
		return timeValue(t), nil
	},
})

var unixTimestampParseFunc = function.New(&function.Spec{
	Params: []function.Parameter{{Name: "timestamp", Type: cty.Number}},
	Type:   function.StaticReturnType(timeObject),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		n, _ := args[0].AsBigFloat().Int64()
		return timeValue(time.Unix(n, 0).UTC()), nil
	},
})

// --- files ---------------------------------------------------------------

// templateFileFunc renders a file as an HCL template with the given
// variables and the same functions (but itself), as Packer's does.
func templateFileFunc(base string, funcs map[string]function.Function) function.Function {
	inner := map[string]function.Function{}
	for k, v := range funcs {
		inner[k] = v
	}
	return function.New(&function.Spec{
		Params: []function.Parameter{{Name: "path", Type: cty.String}, {Name: "vars", Type: cty.DynamicPseudoType}},
		Type:   function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			p := args[0].AsString()
			if !filepath.IsAbs(p) {
				p = filepath.Join(base, p)
			}
			src, err := os.ReadFile(p)
			if err != nil {
				return cty.NilVal, err
			}
			expr, diags := hclsyntax.ParseTemplate(src, p, hcl.Pos{Line: 1, Column: 1})
			if diags.HasErrors() {
				return cty.NilVal, diags
			}
			vars := map[string]cty.Value{}
			if t := args[1].Type(); t.IsObjectType() || t.IsMapType() {
				vars = args[1].AsValueMap()
			}
			out, diags := expr.Value(&hcl.EvalContext{Variables: vars, Functions: inner})
			if diags.HasErrors() {
				return cty.NilVal, diags
			}
			return convert.Convert(out, cty.String)
		},
	})
}
