package config

import (
	"encoding"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/goccy/go-yaml/ast"
)

// decode walks the YAML tree against the Go types of Config and fills c.
// It replaces the library's decoder, which gives type errors (a bad
// duration, address or integer) without a line and unknown fields without
// their path, and which re-formats the whole document for every value
// implementing encoding.TextUnmarshaler, so a file of n addresses took
// O(n²) time (issue #13: 2,000 instances in 15 s). Walking the tree once
// gives every error its file:line:field, records each field's line for the
// validator, and stays linear.
func decode(v *validator, c *Config) {
	for _, doc := range v.file.Docs {
		if doc.Body != nil {
			v.walk(doc.Body, reflect.ValueOf(c).Elem(), "")
		}
	}
}

var (
	durationType  = reflect.TypeFor[time.Duration]()
	textUnmarshal = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// walk decodes n into dst (addressable), recording the line of path.
func (v *validator) walk(n ast.Node, dst reflect.Value, path string) {
	n = unwrap(n)
	if n == nil || n.Type() == ast.NullType {
		return
	}
	line := 0
	if tk := n.GetToken(); tk != nil && tk.Position != nil {
		line = tk.Position.Line
	}
	if path != "" {
		if _, seen := v.lines[path]; !seen {
			v.lines[path] = line
		}
	}
	bad := func(format string, args ...any) {
		v.errs = append(v.errs, &Error{File: v.name, Line: line, Field: path, Msg: fmt.Sprintf(format, args...)})
	}
	for dst.Kind() == reflect.Pointer {
		if dst.IsNil() {
			dst.Set(reflect.New(dst.Type().Elem()))
		}
		dst = dst.Elem()
	}
	t := dst.Type()
	switch {
	case t == durationType:
		s, ok := scalar(n)
		if !ok {
			bad("want a duration such as 100ms or 1.5s")
			return
		}
		d, err := time.ParseDuration(s)
		if err != nil {
			bad("%q is not a duration: want a number with a unit such as 100ms or 1.5s", s)
			return
		}
		dst.SetInt(int64(d))
		return
	case reflect.PointerTo(t).Implements(textUnmarshal):
		s, ok := scalar(n)
		if !ok {
			bad("want a %s", describe(t))
			return
		}
		if err := dst.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(s)); err != nil {
			bad("%q is not a valid %s", s, describe(t))
		}
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		v.walkStruct(n, dst, path, bad)
	case reflect.Slice:
		s, ok := n.(*ast.SequenceNode)
		if !ok {
			bad("want a list")
			return
		}
		out := reflect.MakeSlice(t, len(s.Values), len(s.Values))
		for i, e := range s.Values {
			v.walk(e, out.Index(i), fmt.Sprintf("%s[%d]", path, i))
		}
		dst.Set(out)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		s, ok := scalar(n)
		i, err := strconv.ParseInt(s, 0, t.Bits())
		if !ok || err != nil || n.Type() == ast.StringType {
			bad("want an integer, got %s", show(n))
			return
		}
		dst.SetInt(i)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		s, ok := scalar(n)
		u, err := strconv.ParseUint(s, 0, t.Bits())
		if !ok || err != nil || n.Type() == ast.StringType {
			bad("want a non-negative integer of at most %d bits, got %s", t.Bits(), show(n))
			return
		}
		dst.SetUint(u)
	case reflect.Bool:
		b, ok := n.(*ast.BoolNode)
		if !ok {
			bad("want true or false, got %s", show(n))
			return
		}
		dst.SetBool(b.Value)
	case reflect.String:
		s, ok := scalar(n)
		if !ok {
			bad("want a string")
			return
		}
		dst.SetString(s)
	default:
		bad("cannot decode into %s", t)
	}
}

// walkStruct decodes a mapping into the struct dst: unknown and repeated
// keys are errors, so a typo never falls back to a default silently.
func (v *validator) walkStruct(n ast.Node, dst reflect.Value, path string, bad func(string, ...any)) {
	m, ok := n.(*ast.MappingNode)
	if !ok {
		bad("want a mapping of fields")
		return
	}
	fields := yamlFields(dst.Type())
	seen := make(map[string]bool, len(m.Values))
	for _, kv := range m.Values {
		key := kv.Key.GetToken().Value
		p := join(path, key)
		kl := 0
		if tk := kv.Key.GetToken(); tk != nil && tk.Position != nil {
			kl = tk.Position.Line
		}
		f, ok := fields[key]
		switch {
		case !ok:
			v.errs = append(v.errs, &Error{File: v.name, Line: kl, Field: p, Msg: fmt.Sprintf("unknown field %q", key)})
			continue
		case seen[key]:
			v.errs = append(v.errs, &Error{File: v.name, Line: kl, Field: p, Msg: "given twice: keep one"})
			continue
		}
		seen[key] = true
		v.lines[p] = kl
		v.walk(kv.Value, dst.FieldByIndex(f.Index), p)
	}
}

// unwrap looks through anchors and tags to the value node.
func unwrap(n ast.Node) ast.Node {
	for {
		switch x := n.(type) {
		case *ast.AnchorNode:
			n = x.Value
		case *ast.TagNode:
			n = x.Value
		default:
			return n
		}
	}
}

func scalar(n ast.Node) (string, bool) {
	if _, ok := n.(ast.ScalarNode); !ok {
		return "", false
	}
	switch x := n.(type) {
	case *ast.StringNode:
		return x.Value, true
	case *ast.LiteralNode:
		return x.Value.Value, true
	}
	if tk := n.GetToken(); tk != nil {
		return tk.Value, true
	}
	return "", false
}

func show(n ast.Node) string {
	if s, ok := scalar(n); ok {
		return strconv.Quote(s)
	}
	return "a " + strings.ToLower(n.Type().String())
}

func describe(t reflect.Type) string {
	switch t.String() {
	case "netip.Addr":
		return "IP address"
	case "netip.Prefix":
		return "address with prefix length such as 198.18.0.10/24"
	case "netip.AddrPort":
		return "address:port such as 198.18.0.10:80 or [2001:db8::1]:80"
	}
	return t.String()
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// yamlFields maps the yaml keys of struct t to their fields; computed once per type.
func yamlFields(t reflect.Type) map[string]reflect.StructField {
	if m, ok := fieldCache.Load(t); ok {
		return m.(map[string]reflect.StructField)
	}
	m := map[string]reflect.StructField{}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		m[name] = f
	}
	fieldCache.Store(t, m)
	return m
}

var fieldCache sync.Map // reflect.Type → map[string]reflect.StructField
