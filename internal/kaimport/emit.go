package kaimport

import (
	"encoding"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
)

// YAML renders the converted configuration as vrrpd YAML, with only the
// fields that are set (defaults stay implicit), in the order of the types,
// preceded by the notes as comments so they travel with the file.
func (r *Result) YAML() ([]byte, error) {
	body, err := yaml.MarshalWithOptions(prune(reflect.ValueOf(r.Config).Elem()), yaml.IndentSequence(true))
	if err != nil {
		return nil, fmt.Errorf("kaimport: %w", err)
	}
	var b strings.Builder
	b.WriteString("# vrrpd configuration imported from keepalived.conf by `vrrpctl import-keepalived`.\n")
	if len(r.Notes) > 0 {
		fmt.Fprintf(&b, "# %d line(s) were not carried over as they were:\n", len(r.Notes))
		for _, n := range r.Notes {
			fmt.Fprintf(&b, "#   %s\n", n)
		}
	}
	b.Write(body)
	return []byte(b.String()), nil
}

var (
	durationType      = reflect.TypeOf(time.Duration(0))
	textMarshalerType = reflect.TypeOf((*encoding.TextMarshaler)(nil)).Elem()
)

// prune turns a config value into YAML-ready data without zero fields.
func prune(v reflect.Value) any {
	switch {
	case v.Type() == durationType:
		return time.Duration(v.Int()).String()
	case v.Type().Implements(textMarshalerType):
		t, _ := v.Interface().(encoding.TextMarshaler).MarshalText()
		return string(t)
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return nil
		}
		return prune(v.Elem())
	case reflect.Struct:
		var m yaml.MapSlice
		for i := 0; i < v.NumField(); i++ {
			f := v.Type().Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if name == "" || name == "-" || v.Field(i).IsZero() {
				continue
			}
			if sub := prune(v.Field(i)); sub != nil {
				m = append(m, yaml.MapItem{Key: name, Value: sub})
			}
		}
		if len(m) == 0 {
			return nil
		}
		return m
	case reflect.Slice:
		out := make([]any, 0, v.Len())
		for i := 0; i < v.Len(); i++ {
			out = append(out, prune(v.Index(i)))
		}
		return out
	default:
		return v.Interface()
	}
}
