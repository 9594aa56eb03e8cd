package config

import (
	"encoding"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml/ast"
)

// checkSchema walks the YAML tree against the Go types of Config before the
// real decode. The decoder reports type errors (a bad duration, address or
// integer) without a line, and unknown fields without their path; walking
// the tree ourselves gives every such error its file:line:field.
func checkSchema(v *validator) {
	for _, doc := range v.file.Docs {
		if doc.Body != nil {
			v.walk(doc.Body, reflect.TypeFor[Config](), "")
		}
	}
}

var (
	durationType  = reflect.TypeFor[time.Duration]()
	textUnmarshal = reflect.TypeFor[encoding.TextUnmarshaler]()
)

func (v *validator) walk(n ast.Node, t reflect.Type, path string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	n = unwrap(n)
	if n == nil || n.Type() == ast.NullType {
		return
	}
	line := 0
	if tk := n.GetToken(); tk != nil && tk.Position != nil {
		line = tk.Position.Line
	}
	bad := func(format string, args ...any) {
		v.errs = append(v.errs, &Error{File: v.name, Line: line, Field: path, Msg: fmt.Sprintf(format, args...)})
	}
	switch {
	case t == durationType:
		s, ok := scalar(n)
		if !ok {
			bad("want a duration such as 100ms or 1.5s")
			return
		}
		if _, err := time.ParseDuration(s); err != nil {
			bad("%q is not a duration: want a number with a unit such as 100ms or 1.5s", s)
		}
		return
	case reflect.PointerTo(t).Implements(textUnmarshal):
		s, ok := scalar(n)
		if !ok {
			bad("want a %s", describe(t))
			return
		}
		if err := reflect.New(t).Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(s)); err != nil {
			bad("%q is not a valid %s", s, describe(t))
		}
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		m, ok := n.(*ast.MappingNode)
		if !ok {
			bad("want a mapping of fields")
			return
		}
		fields := yamlFields(t)
		for _, kv := range m.Values {
			key := kv.Key.GetToken().Value
			f, ok := fields[key]
			p := join(path, key)
			if !ok {
				kl := 0
				if tk := kv.Key.GetToken(); tk != nil && tk.Position != nil {
					kl = tk.Position.Line
				}
				v.errs = append(v.errs, &Error{File: v.name, Line: kl, Field: p, Msg: fmt.Sprintf("unknown field %q", key)})
				continue
			}
			v.walk(kv.Value, f.Type, p)
		}
	case reflect.Slice:
		s, ok := n.(*ast.SequenceNode)
		if !ok {
			bad("want a list")
			return
		}
		for i, e := range s.Values {
			v.walk(e, t.Elem(), fmt.Sprintf("%s[%d]", path, i))
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		s, ok := scalar(n)
		if _, err := strconv.ParseInt(s, 0, 64); !ok || err != nil || n.Type() == ast.StringType {
			bad("want an integer, got %s", show(n))
		}
	case reflect.Bool:
		if n.Type() != ast.BoolType {
			bad("want true or false, got %s", show(n))
		}
	case reflect.String:
		if _, ok := scalar(n); !ok {
			bad("want a string")
		}
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

// yamlFields maps the yaml keys of struct t to their fields.
func yamlFields(t reflect.Type) map[string]reflect.StructField {
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
	return m
}
