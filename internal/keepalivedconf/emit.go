package keepalivedconf

import (
	"encoding"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml"

	"github.com/hachat/hachat/internal/config"
)

// YAML renders the converted configuration as vrrpd YAML, with only the
// fields that are set (defaults stay implicit), in the order of the types,
// preceded by the notes as comments so they travel with the file.
func (r *Result) YAML() ([]byte, error) {
	var b strings.Builder
	b.WriteString("# vrrpd configuration imported from keepalived.conf by `vrrpctl import-keepalived`.\n")
	if losses := r.Losses(); len(losses) > 0 {
		fmt.Fprintf(&b, "# %d line(s) were NOT carried over: this configuration behaves differently there:\n", len(losses))
		for _, n := range losses {
			fmt.Fprintf(&b, "#   %s\n", n)
		}
	}
	if len(r.Notes) > len(r.Losses()) {
		b.WriteString("# Carried over in another form, with the same behaviour:\n")
		for _, n := range r.Notes {
			if !n.Loss {
				fmt.Fprintf(&b, "#   %s\n", n)
			}
		}
	}
	if tree := prune(reflect.ValueOf(r.Config).Elem()); tree != nil {
		writeYAML(&b, tree, 0)
	}
	return []byte(b.String()), nil
}

// writeYAML writes the pruned tree in block style. It is a small writer of
// our own because the library's encoder took a third of the time of a
// 10 MB import; the output is read back by config.Parse, which checks it.
func writeYAML(b *strings.Builder, node any, indent int) {
	pad := strings.Repeat(" ", indent)
	switch n := node.(type) {
	case yaml.MapSlice:
		for _, it := range n {
			b.WriteString(pad)
			b.WriteString(fmt.Sprint(it.Key))
			b.WriteString(":")
			writeValue(b, it.Value, indent)
		}
	case []any:
		for _, e := range n {
			b.WriteString(pad)
			b.WriteString("- ")
			if m, ok := e.(yaml.MapSlice); ok && len(m) > 0 {
				// The first field shares the dash's line, the rest
				// line up under it.
				var sub strings.Builder
				writeYAML(&sub, m, indent+2)
				b.WriteString(strings.TrimPrefix(sub.String(), pad+"  "))
				continue
			}
			b.WriteString(strings.TrimPrefix(scalarOrEmpty(e), " "))
			b.WriteString("\n")
		}
	}
}

// writeValue writes what follows "key:".
func writeValue(b *strings.Builder, v any, indent int) {
	switch n := v.(type) {
	case yaml.MapSlice:
		b.WriteString("\n")
		writeYAML(b, n, indent+2)
	case []any:
		if len(n) == 0 {
			b.WriteString(" []\n")
			return
		}
		b.WriteString("\n")
		writeYAML(b, n, indent+2)
	default:
		b.WriteString(scalarOrEmpty(v))
		b.WriteString("\n")
	}
}

// scalarOrEmpty renders a scalar with its leading space, or " {}" for nil.
func scalarOrEmpty(v any) string {
	switch x := v.(type) {
	case nil:
		return " {}"
	case string:
		return " " + quote(x)
	case bool:
		return " " + strconv.FormatBool(x)
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return " " + fmt.Sprint(x)
	}
	return " " + quote(fmt.Sprint(v))
}

// quote leaves a string plain when YAML reads it back as the same string,
// and double-quotes it (JSON escapes are valid YAML) otherwise.
func quote(s string) string {
	if plainSafe(s) {
		return s
	}
	q, _ := json.Marshal(s)
	return string(q)
}

func plainSafe(s string) bool {
	if s == "" || strings.ContainsAny(s[:1], "-:@`!&*?|>'\"%{}[],#~ ") || strings.HasSuffix(s, ":") {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("_./:@-+", r)) {
			return false
		}
	}
	if c := s[0]; c >= '0' && c <= '9' || c == '.' || c == '+' {
		// Only these can start a YAML number.
		if _, err := strconv.ParseFloat(s, 64); err == nil {
			return false
		}
		if _, err := strconv.ParseInt(s, 0, 64); err == nil {
			return false
		}
	}
	switch strings.ToLower(s) {
	case "y", "n", "yes", "no", "on", "off", "true", "false", "null", ".inf", "-.inf", ".nan":
		return false
	}
	return true
}

var (
	durationType      = reflect.TypeOf(time.Duration(0))
	statusType        = reflect.TypeOf(config.StatusRange{})
	textMarshalerType = reflect.TypeOf((*encoding.TextMarshaler)(nil)).Elem()
)

// prune turns a config value into YAML-ready data without zero fields.
func prune(v reflect.Value) any {
	switch {
	case v.Type() == statusType && v.Field(0).Int() == v.Field(1).Int():
		return int(v.Field(0).Int()) // a single code reads best as a number
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
